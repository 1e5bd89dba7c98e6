/** CHORUS_* variables are matched against the schema's keys; docs/configuration.md lists them all. */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig } from "../../core/config/load.ts";
import { NOT_SETTINGS, envToConfig, listEnvVariables } from "../../core/config/env.ts";
import { runChorusAsync } from "../helpers/process.ts";
import { CONFIG_DOC, configurationDoc } from "../../core/config/docs.ts";
import { tempDir } from "../helpers/temp.ts";

describe("CHORUS_* environment variables", () => {
  it("accept API_KEY, APIKEY and apiKey for compat.apiKey", () => {
    for (const name of ["CHORUS_COMPAT__API_KEY", "CHORUS_COMPAT__APIKEY", "CHORUS_COMPAT__apiKey", "CHORUS_compat__ApiKey"]) {
      expect(loadConfig({ env: { [name]: "s3cret" } }).compat.apiKey, name).toBe("s3cret");
    }
  });

  it("keep string settings as typed (a numeric API key stays a string)", () => {
    expect(loadConfig({ env: { CHORUS_COMPAT__APIKEY: "12345" } }).compat.apiKey).toBe("12345");
    expect(loadConfig({ env: { CHORUS_SERVER__PORT: "18851" } }).server.port).toBe(18851);
  });

  it("read record keys as ids and engine settings as camelCase", () => {
    expect(
      envToConfig({
        CHORUS_SCHEDULER__ENGINES__MY_ENGINE__PINNED: "true",
        CHORUS_ENGINES__SETTINGS__PIPER__VOICES_DIR: "/v",
        CHORUS_COMPAT__OPENAI__PCM_SAMPLE_RATE: "null",
      }),
    ).toEqual({
      scheduler: { engines: { "my-engine": { pinned: true } } },
      engines: { settings: { piper: { voicesDir: "/v" } } },
      compat: { openai: { pcmSampleRate: null } },
    });
  });

  it("still name an unknown key", () => {
    expect(() => loadConfig({ env: { CHORUS_COMPAT__API_KEYS: "x" } })).toThrow(/compat: .*apiKeys/);
  });

  it("an invalid or unknown one is named in the error, as the key is (it is in no file to look for)", () => {
    expect(() => loadConfig({ env: { CHORUS_SERVER__PORT: "abc" } })).toThrow(
      /^invalid configuration:\n {2}server\.port: .*number.* \(from CHORUS_SERVER__PORT\)$/,
    );
    expect(() => loadConfig({ env: { CHORUS_SERVER__PROT: "1" } })).toThrow(
      /^invalid configuration:\n {2}server: Unrecognized key: "prot" \(from CHORUS_SERVER__PROT\)$/,
    );
    expect(() => loadConfig({ env: { CHORUS_SERVR__PORT: "1" } })).toThrow(/\(root\): Unrecognized key: "servr" \(from CHORUS_SERVR__PORT\)$/);
    // a value from a file names no variable
    const file = `${tempDir("cfg-env")}/bad.json`;
    fs.writeFileSync(file, JSON.stringify({ server: { port: "x" } }));
    expect(() => loadConfig({ file, env: {} })).toThrow(/server\.port: Invalid input: expected number, received string$/);
  });

  it("that are not settings (CHORUS_ENCODER=ffmpeg of docs/compat.md, CHORUS_URL...) do not stop chorus", async () => {
    for (const name of NOT_SETTINGS.filter((n) => n !== "CHORUS_CONFIG")) expect(() => loadConfig({ env: { [name]: "2" } }), name).not.toThrow();
    // the real command, as a user who follows docs/compat.md runs it
    const res = await runChorusAsync(["say", "Hi.", "--format", "mp3", "-o", "/dev/null"], {
      env: {
        CHORUS_ENCODER: "ffmpeg",
        CHORUS_ENCODER_THREADS: "2",
        CHORUS_URL: "http://127.0.0.1:7851",
        CHORUS_LOG__LEVEL: "silent",
        CHORUS_DATA_DIR: tempDir("not-settings"),
      },
    });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/^wrote \/dev\/null: /);
  }, 60_000);

  it("match any schema by its keys", () => {
    const schema = z.strictObject({ someSection: z.strictObject({ maxThings: z.number() }) });
    expect(envToConfig({ CHORUS_SOME_SECTION__MAXTHINGS: "3" }, schema)).toEqual({ someSection: { maxThings: 3 } });
    expect(listEnvVariables(schema).map((v) => v.name)).toEqual(["CHORUS_SOME_SECTION__MAX_THINGS"]);
  });

  it("listed in docs/configuration.md reach the key they name", () => {
    for (const v of listEnvVariables().filter((x) => !x.name.includes("<") && !x.type.startsWith("JSON"))) {
      const path = v.key.split(".");
      const tree = envToConfig({ [v.name]: "1" });
      let node: unknown = tree;
      for (const k of path) node = (node as Record<string, unknown>)[k];
      expect(node, v.name).toBeDefined();
    }
  });

  it("docs/configuration.md is the generated list (npm run docs:config)", () => {
    const doc = fs.readFileSync(CONFIG_DOC, "utf8");
    expect(doc, "docs/configuration.md is stale: run npm run docs:config").toBe(configurationDoc());
    expect(doc).toContain("`CHORUS_COMPAT__API_KEY` | `compat.apiKey`");
    expect(doc).toContain("`CHORUS_SERVER__PORT` | `server.port`");
  });
});
