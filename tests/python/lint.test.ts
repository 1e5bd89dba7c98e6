/**
 * The Python code is ruff-clean and the SDK mypy --strict clean. ruff and mypy come from an
 * environment of their own, built by the environment manager (ensureEnvironment) and cached
 * in var/test-envs across runs.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ensureEnvironment } from "../../core/python/index.ts";
import { tempDir } from "../helpers/temp.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CONFIG = path.join(ROOT, "packages/sdk-python/pyproject.toml");

describe("Python lint", () => {
  it("ruff and mypy pass", { timeout: 300_000 }, async () => {
    const lines: string[] = [];
    process.env.PIP_RETRIES ??= "0"; // no backing off where the public index is unreachable (this machine)
    const python = await ensureEnvironment(
      { id: "python-lint", baseDir: ROOT, python: { version: ">=3.9", requirements: ["ruff>=0.5", "mypy>=1.10"] } },
      { root: path.join(ROOT, "var/test-envs"), installer: "auto", torchIndexUrl: "" },
      (line) => lines.push(line),
    );
    const bin = path.dirname(python);
    const targets = [
      "packages/sdk-python",
      "engines/xtts",
      "examples/plugins/formant-py",
      "examples/plugin-template-python",
      "tests/python/fixtures",
      "tests/xtts/standin",
      "tests/xtts/test_xtts_engine.py",
    ];
    const ruff = spawnSync(path.join(bin, "ruff"), ["check", "--config", CONFIG, ...targets], { cwd: ROOT, encoding: "utf8" });
    expect(ruff.status, ruff.stdout + ruff.stderr + lines.join("\n")).toBe(0);
    const mypy = spawnSync(path.join(bin, "mypy"), ["--config-file", CONFIG, "chorus_sdk"], { cwd: path.join(ROOT, "packages/sdk-python"), encoding: "utf8" });
    expect(mypy.status, mypy.stdout + mypy.stderr).toBe(0);
    expect(mypy.stdout).toContain("Success: no issues found");
  });

  it("an author's mypy --strict takes the SDK's types from the installed package (py.typed)", { timeout: 300_000 }, async () => {
    process.env.PIP_RETRIES ??= "0";
    const python = await ensureEnvironment(
      { id: "python-lint", baseDir: ROOT, python: { version: ">=3.9", requirements: ["ruff>=0.5", "mypy>=1.10"] } },
      { root: path.join(ROOT, "var/test-envs"), installer: "auto", torchIndexUrl: "" },
      () => {},
    );
    // pip builds in the folder it installs from: a copy, so the checkout gets no build/ or egg-info.
    const sdk = path.join(tempDir("sdk-python"), "sdk-python");
    fs.cpSync(path.join(ROOT, "packages/sdk-python"), sdk, { recursive: true, filter: (p) => !p.includes("__pycache__") });
    const plugin = path.join(tempDir("plugin"), "my-voice"); // outside the checkout, as an author has it
    fs.cpSync(path.join(ROOT, "examples/plugin-template-python"), plugin, { recursive: true, filter: (p) => !p.includes("__pycache__") });
    const installed = spawnSync(python, ["-m", "pip", "install", "--quiet", "--no-deps", sdk], { encoding: "utf8" });
    try {
      expect(installed.status, installed.stdout + installed.stderr).toBe(0);
      const mypy = spawnSync(path.join(path.dirname(python), "mypy"), ["--strict", "--no-incremental", "engine.py", "test_engine.py"], {
        cwd: plugin,
        encoding: "utf8",
      });
      expect(mypy.stdout + mypy.stderr).not.toContain("missing library stubs or py.typed marker");
      expect(mypy.status, mypy.stdout + mypy.stderr).toBe(0);
    } finally {
      spawnSync(python, ["-m", "pip", "uninstall", "--yes", "--quiet", "chorus-sdk"], { encoding: "utf8" }); // the cached lint environment stays as it was
    }
  });
});
