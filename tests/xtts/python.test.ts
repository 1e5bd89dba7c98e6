/**
 * The XTTS engine's Python in process against the coqui-tts/torch stand-ins
 * (tests/xtts/test_xtts_engine.py, stdlib unittest): reference clip formats, model switches,
 * the latents' cache key, AllTalk's `language=auto`.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("XTTS engine (Python units)", () => {
  it("unit tests pass against the stand-ins", () => {
    const r = spawnSync("python3", ["-m", "unittest", "-v", "tests/xtts/test_xtts_engine.py"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Ran \d+ tests/);
    expect(r.stderr).toContain("OK");
  });
});
