/**
 * The XTTS engine's Python in process against the coqui-tts/torch stand-ins
 * (tests/xtts/test_xtts_engine.py, stdlib unittest): reference clip formats, model switches,
 * the latents' cache key, AllTalk's `language=auto`.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/temp.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** A unittest run that ran at least one test and passed ("Ran 0 tests ... OK" is no pass: a renamed or unimportable test class finds nothing). */
function expectRanAndPassed(r: SpawnSyncReturns<string>): void {
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/Ran [1-9]\d* tests?/);
  expect(r.stderr).toContain("OK");
}

describe("XTTS engine (Python units)", () => {
  it("unit tests pass against the stand-ins", () => {
    expectRanAndPassed(spawnSync("python3", ["-m", "unittest", "-v", "tests/xtts/test_xtts_engine.py"], { cwd: ROOT, encoding: "utf8" }));
  });

  it("a run that found no test is not a pass (Python 3.11's unittest says 'Ran 0 tests', OK, exit 0)", () => {
    const dir = tempDir("xtts-py-none");
    fs.writeFileSync(
      path.join(dir, "test_nothing.py"),
      "import unittest\n\n\nclass Nothing:  # not a TestCase: no test found\n    def test_x(self) -> None:\n        pass\n",
    );
    const r = spawnSync("python3", ["-m", "unittest", "-v", "test_nothing.py"], { cwd: dir, encoding: "utf8" });
    expect(r.stderr).toMatch(/Ran 0 tests|NO TESTS RAN/);
    expect(() => expectRanAndPassed(r)).toThrow();
  });
});
