/**
 * The Python SDK's own tests (packages/sdk-python/tests: the protocol layer against a fake
 * host on a socket pair) and the Python template's, run with the machine's python3; and the
 * Python SDK's version equals the TypeScript SDK's (they are released together).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SDK_VERSION } from "../../packages/sdk/src/index.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SDK = path.join(ROOT, "packages/sdk-python");

function unittest(dir: string) {
  return spawnSync("python3", ["-m", "unittest", "discover", "-s", dir, "-t", dir], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, PYTHONPATH: `${SDK}${path.delimiter}${dir}`, PYTHONDONTWRITEBYTECODE: "1" },
    timeout: 120_000,
  });
}

describe("Python SDK", () => {
  it("passes its protocol tests", () => {
    const result = unittest(path.join(SDK, "tests"));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/Ran \d+ tests/);
    expect(Number(/Ran (\d+) tests/.exec(result.stderr)![1])).toBeGreaterThanOrEqual(12);
  });

  it("has the TypeScript SDK's version", () => {
    const init = fs.readFileSync(path.join(SDK, "chorus_sdk/__init__.py"), "utf8");
    const pyproject = fs.readFileSync(path.join(SDK, "pyproject.toml"), "utf8");
    expect(/__version__ = "([^"]+)"/.exec(init)![1]).toBe(SDK_VERSION);
    expect(/^version = "([^"]+)"/m.exec(pyproject)![1]).toBe(SDK_VERSION);
  });

  it("runs the Python template's unit tests", () => {
    const result = unittest(path.join(ROOT, "examples/plugin-template-python"));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain("Ran 2 tests");
  });
});
