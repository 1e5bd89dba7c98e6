/**
 * The real trainer worker's Python, checked without torch or coqui-tts (neither is installable
 * here): the protocol layer's unit tests (tests/finetune/test_trainer_protocol.py, stdlib
 * unittest), the guarded imports (worker.py without torch reports `failed` on fd 3 and names
 * what to install), and ruff + mypy over the worker, its protocol layer and the stand-in.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { xttsV2Runtime } from "../../core/finetune/models/xtts-v2-runtime.ts";
import { parseLine } from "../../core/finetune/runner/protocol.ts";
import { ensureEnvironment } from "../../core/python/index.ts";
import { tempDir } from "../helpers/temp.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("trainer worker (Python)", () => {
  it("protocol layer: unit tests pass without torch", () => {
    const r = spawnSync("python3", ["-m", "unittest", "-v", "tests/finetune/test_trainer_protocol.py"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Ran \d+ tests/);
    expect(r.stderr).toContain("OK");
  });

  it("imports of torch and coqui-tts are guarded: a Python without them gets a `failed` message on fd 3, nothing on stdout", async () => {
    const dir = tempDir("ft-worker");
    const job = path.join(dir, "job.json");
    fs.writeFileSync(
      job,
      JSON.stringify({
        protocol: 1,
        mode: "train",
        jobId: "t",
        baseModelDir: dir,
        dataset: { dir, trainCsv: "a", evalCsv: "b", language: "en" },
        outDir: dir,
        checkpointDir: dir,
        trainerConfig: {},
        epochs: 1,
      }),
    );
    const child = spawn("python3", ["-S", xttsV2Runtime.workerScript, "--job", job], { stdio: ["pipe", "pipe", "pipe", "pipe"] });
    let fd3 = "";
    let stdout = "";
    (child.stdio[3] as Readable).on("data", (d) => (fd3 += d));
    child.stdout!.on("data", (d) => (stdout += d));
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(code).toBe(3);
    expect(stdout).toBe("");
    const parsed = parseLine(fd3.trim());
    expect(parsed.ok && parsed.message).toMatchObject({
      type: "failed",
      reason: expect.stringMatching(/lacks a package \(No module named '(torch|trainer|TTS)'.*chorus finetune setup/),
    });
  });

  it("ruff and mypy pass over the worker, its protocol layer and the stand-in", { timeout: 300_000 }, async () => {
    process.env.PIP_RETRIES ??= "0";
    const lines: string[] = [];
    const python = await ensureEnvironment(
      { id: "python-lint", baseDir: ROOT, python: { version: ">=3.9", requirements: ["ruff>=0.5", "mypy>=1.10"] } },
      { root: path.join(ROOT, "var/test-envs"), installer: "auto", torchIndexUrl: "" },
      (line) => lines.push(line),
    );
    const bin = path.dirname(python);
    const targets = ["core/finetune/trainer", "tests/finetune/standin", "tests/finetune/test_trainer_protocol.py"];
    const ruff = spawnSync(path.join(bin, "ruff"), ["check", "--config", "packages/sdk-python/pyproject.toml", ...targets], { cwd: ROOT, encoding: "utf8" });
    expect(ruff.status, ruff.stdout + ruff.stderr + lines.join("\n")).toBe(0);
    const mypy = spawnSync(
      path.join(bin, "mypy"),
      ["--ignore-missing-imports", "--check-untyped-defs", "--disallow-untyped-defs", "protocol.py", "worker.py"],
      { cwd: path.join(ROOT, "core/finetune/trainer"), encoding: "utf8" },
    );
    expect(mypy.stdout, mypy.stdout + mypy.stderr).toContain("Success: no issues found");
  });
});
