/**
 * `chorus` from any folder, as after `npm link`: the command is a symlink on PATH to
 * core/cli/chorus.mjs and the working directory is outside the repository. (Before, the
 * decorators of the host's services needed the project's tsconfig, and this crashed.)
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CHORUS_BIN } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const cwd = tempDir("anywhere");
const bin = path.join(tempDir("bin"), "chorus");
fs.symlinkSync(CHORUS_BIN, bin); // what `npm link` puts on PATH
const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`, CHORUS_DATA_DIR: path.join(cwd, "data") };

function chorus(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("chorus outside the repository", () => {
  it("runs in a folder outside the repository", () => {
    expect(path.relative(ROOT, cwd).startsWith("..")).toBe(true);
  });

  it("chorus engines", async () => {
    const r = await chorus("engines");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/espeak/);
    expect(r.stderr).not.toMatch(/decorator/i);
  });

  it('chorus say "hi" -o x.wav', async () => {
    const r = await chorus("say", "hi", "-o", "x.wav");
    expect(r.status, r.stderr).toBe(0);
    const wav = fs.readFileSync(path.join(cwd, "x.wav"));
    expect(wav.subarray(0, 4).toString()).toBe("RIFF");
    expect(wav.length).toBeGreaterThan(44 + 2000);
  });

  it("chorus plugin new, then chorus plugin check", async () => {
    const created = await chorus("plugin", "new", "my-engine", "my-engine");
    expect(created.status, created.stderr).toBe(0);
    expect(fs.existsSync(path.join(cwd, "my-engine", "plugin.json"))).toBe(true);
    const checked = await chorus("plugin", "check", "my-engine");
    expect(checked.status, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/my-engine: all checks passed/);
  });
});
