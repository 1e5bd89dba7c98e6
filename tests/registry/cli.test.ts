/** `chorus plugin new`, `chorus plugin check` and `chorus use`, as a user runs them. */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES, tempDir } from "./helpers.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

function chorus(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [path.join(ROOT, "core/cli/chorus.mjs"), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, CHORUS_DATA_DIR: tempDir("cli-data"), ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

describe("chorus plugin", () => {
  it("new scaffolds a renamed copy of the template, and check passes it", () => {
    const target = path.join(tempDir("new"), "my-voice");
    const made = chorus(["plugin", "new", "my-voice", target]);
    expect(made.code, made.err).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(target, "plugin.json"), "utf8")) as Record<string, string>;
    expect(manifest).toMatchObject({ id: "my-voice", name: "My Voice", version: "0.1.0", entry: "index.ts" });
    expect(fs.readFileSync(path.join(target, "index.test.ts"), "utf8")).toContain('describe("my-voice"');
    // Outside the Chorus folder `chorus/sdk` resolves only inside the host: the scaffold imports
    // the SDK package by name, and its schema as that package installs it (docs/plugins.md).
    expect(manifest.$schema).toBe("./node_modules/@chorus-tts/sdk/plugin.schema.json");
    for (const file of ["index.ts", "index.test.ts"]) {
      const code = fs.readFileSync(path.join(target, file), "utf8");
      expect(code).toContain('from "@chorus-tts/sdk";');
      expect(code.replaceAll("@chorus-tts/sdk", "")).not.toContain("chorus/sdk");
    }
    expect(made.out).toContain(`npm install ${path.join(ROOT, "packages/sdk")}`);
    const checked = chorus(["plugin", "check", target]);
    expect(checked.code, checked.out + checked.err).toBe(0);
    expect(checked.out).toMatch(/ok {3}synthesis \(voice low\)/);
    expect(checked.out).toContain("my-voice: all checks passed");
    expect(chorus(["plugin", "new", "my-voice", target]).code).toBe(1); // never overwrites
  });

  it("new refuses a name that is not an engine id", () => {
    const res = chorus(["plugin", "new", "My Voice", tempDir("new")]);
    expect(res.code).toBe(2);
    expect(res.err).toContain("lowercase letters");
  });

  it("check says what is wrong, step by step", () => {
    const load = chorus(["plugin", "check", path.join(FIXTURES, "throws-on-load")]);
    expect(load.code).toBe(1);
    expect(load.out).toMatch(/ok {3}import and create\nFAIL load \(profile cpu\): weights.bin is corrupt/);
    const imported = chorus(["plugin", "check", path.join(FIXTURES, "import-fails")]);
    expect(imported.out).toMatch(/FAIL import and create: native binding not found/);
    const short = chorus(["plugin", "check", path.join(FIXTURES, "misbehaves")]);
    expect(short.code).toBe(1);
    expect(short.out).toContain("FAIL synthesis (voice a): only 0.10 s of audio for an 8-word sentence"); // it beeps once
    const empty = tempDir("empty");
    const none = chorus(["plugin", "check", empty]);
    expect(none.out).toContain("FAIL manifest: no plugin.json");
    expect(none.code).toBe(1);
  });

  it("check passes the shipped SAM example", () => {
    const res = chorus(["plugin", "check", path.join(ROOT, "examples/plugins/sam")]);
    expect(res.code, res.out + res.err).toBe(0);
  });
});

describe("chorus use", () => {
  it("persists the default engine and refuses unknown ones", () => {
    const dataDir = tempDir("use");
    expect(chorus(["use", "flite"], { CHORUS_DATA_DIR: dataDir }).out).toContain("default engine: flite (was espeak)");
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, "state.json"), "utf8"))).toMatchObject({ defaultEngine: "flite" });
    const bad = chorus(["use", "nope"], { CHORUS_DATA_DIR: dataDir });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("no engine 'nope'");
    expect(chorus(["use"]).code).toBe(2);
  });
});
