/**
 * `--help` and `chorus help COMMAND` for every command `chorus --help` lists: plugin commands
 * (`chorus help phonemize`, `chorus xtts download --help`) and each `finetune` subcommand
 * answer with their usage and exit 0, as the built-in commands do (README, "The chorus command").
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runChorusAsync } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";

const env = () => ({ CHORUS_DATA_DIR: tempDir("cli-help"), CHORUS_LOG__LEVEL: "silent" });

describe("help for plugin commands", () => {
  it("chorus help NAME prints a plugin command's usage and its plugin; help voices install is the plugin's, help voices the built-in", async () => {
    const phonemize = await runChorusAsync(["help", "phonemize"], { env: env() });
    expect(phonemize.status, phonemize.stderr).toBe(0);
    expect(phonemize.stdout).toMatch(/^Usage: chorus phonemize --voice-config FILE\.onnx\.json \[TEXT\]\n.*\[plugin piper\]\n$/);
    const install = await runChorusAsync(["help", "voices", "install"], { env: env() });
    expect(install.status).toBe(0);
    expect(install.stdout).toMatch(/^Usage: chorus voices install URL\|PATH\|NAME/);
    const voices = await runChorusAsync(["help", "voices"], { env: env() });
    expect(voices.stdout).toMatch(/^Usage: chorus voices \[--engine ID\] \[--json\]/);
    const none = await runChorusAsync(["help", "nosuch"], { env: env() });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^chorus: no command 'nosuch'; commands: serve, .*; from plugins: .*phonemize/);
  }, 60_000);

  it("--help on a plugin command that does not take it itself prints its usage (exit 0), not 'Unknown option'", async () => {
    for (const flag of ["--help", "-h"]) {
      const res = await runChorusAsync(["xtts", "download", flag], { env: env() });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^Usage: chorus xtts download --accept-license .*\n.*\[plugin xtts\]\n$/);
    }
    // a real usage error is still one
    const bad = await runChorusAsync(["xtts", "download", "--bogus"], { env: env() });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--bogus'/);
  }, 60_000);
});

describe("help for finetune subcommands", () => {
  it("finetune SUB --help prints that subcommand's usage (exit 0); a usage error prints that subcommand's usage only", async () => {
    for (const sub of ["check", "prepare", "estimate", "plan", "run", "probe", "setup"]) {
      const res = await runChorusAsync(["finetune", sub, "--help"], { env: env() });
      expect(res.status, `${sub}: ${res.stderr}`).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`^Usage:\\n {2}finetune ${sub} `));
      expect(res.stdout.match(/^ {2}finetune /gm)).toHaveLength(1);
    }
    // the flags the docs use are in the usage (docs/finetune.md: plan --model-dir, prepare --whisper-model/--python)
    const flags = { check: ["--max-clip-seconds"], prepare: ["--min-seconds", "--max-seconds", "--whisper-model", "--python"], plan: ["--model-dir"] };
    for (const [sub, names] of Object.entries(flags)) {
      const res = await runChorusAsync(["finetune", sub, "--help"], { env: env() });
      for (const name of names) expect(res.stdout, sub).toContain(`[${name} `);
    }
    const bad = await runChorusAsync(["finetune", "check"], { env: env() });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^chorus finetune check: finetune check takes one dataset folder/);
    expect(bad.stderr.match(/^ {2}finetune /gm)).toEqual(["  finetune "]);
  }, 120_000);
});

describe("arguments a command does not take", () => {
  it("serve, wyoming, engines, doctor (none) and use (one) refuse extra arguments with their usage, instead of ignoring them", async () => {
    for (const [args, usage] of [
      [["serve", "extra"], "Usage: chorus serve"],
      [["wyoming", "extra"], "Usage: chorus wyoming"],
      [["engines", "extra"], "Usage: chorus engines"],
      [["doctor", "extra"], "Usage: chorus doctor"],
      [["use", "flite", "espeak"], "Usage: chorus use ID"],
    ] as const) {
      const res = await runChorusAsync([...args], { env: env() });
      expect(res.status, `${args.join(" ")}: ${res.stderr}`).toBe(2);
      const got = args.slice(1).join(" ");
      expect(res.stderr).toContain(`chorus: ${args[0]} takes ${args[0] === "use" ? "one argument" : "no arguments"} (got '${got}')\n${usage}`);
    }
  }, 60_000);
});

describe("--url", () => {
  it("a --url that is no http address is a usage error naming the form, not 'cannot reach the server'", async () => {
    for (const args of [
      ["engine", "status", "--url", "notaurl"],
      ["engines", "--url", "127.0.0.1:7851"],
    ]) {
      const res = await runChorusAsync(args, { env: env() });
      expect(res.status, res.stderr).toBe(2);
      expect(res.stderr).toMatch(
        new RegExp(`^chorus: --url must be the server's address, http://HOST:PORT \\(got '${args.at(-1)}'\\)\nUsage: chorus ${args[0]}`),
      );
    }
  }, 60_000);
});

it("chorus --version prints package.json's version (it was 'Unknown option'), and --help lists it", async () => {
  const { version } = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, "../../package.json"), "utf8"));
  const res = await runChorusAsync(["--version"], { env: env() });
  expect(res.status, res.stderr).toBe(0);
  expect(res.stdout).toBe(`chorus ${version} (Node.js ${process.versions.node})\n`);
  expect((await runChorusAsync(["--help"], { env: env() })).stdout).toMatch(/\n {2}--version {2,}the Chorus version\n/);
}, 60_000);
