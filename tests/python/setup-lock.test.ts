/**
 * One setup of an environment at a time (core/python/setup-lock.ts): two setups of the same
 * new environment at once (two test files, `chorus plugin setup` twice, the server and the
 * CLI) built it twice into one folder, and the second `python -m venv` failed in ensurepip
 * (a clean clone's test run). Now the second waits for the first and uses what it built; a
 * lock left by a process that is gone is taken over.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makePlan, runSetup, type EnvSpec } from "../../core/python/index.ts";
import { tempDir } from "../helpers/temp.ts";

const spec: EnvSpec = { id: "lock-py", baseDir: "/nowhere", python: { version: ">=3.9", requirements: [] } };

describe("environment setup lock", () => {
  it("builds an environment once when two setups of it run at once; the second waits and uses it", async () => {
    const root = tempDir("envs");
    const plans = [makePlan(spec, { root, installer: "pip", torchIndexUrl: "" }), makePlan(spec, { root, installer: "pip", torchIndexUrl: "" })];
    const said: string[][] = [[], []];
    const records = await Promise.all(plans.map((plan, i) => runSetup(plan, (line) => said[i]!.push(line))));
    const built = said.filter((lines) => lines.some((l) => l.startsWith("[1/1]")));
    expect(built).toHaveLength(1);
    const waited = said.find((lines) => !lines.some((l) => l.startsWith("[1/1]")))!;
    expect(waited[0]).toMatch(/^waiting for another setup of lock-py/);
    expect(waited.at(-1)).toMatch(/set up meanwhile/);
    expect(records[0]!.requirementsHash).toBe(records[1]!.requirementsHash);
    expect(fs.existsSync(path.join(root, "lock-py.lock"))).toBe(false);
  }, 120_000);

  it("takes over a lock whose process is gone", async () => {
    const root = tempDir("envs");
    fs.writeFileSync(path.join(root, "lock-py.lock"), "999999999"); // no such process
    const said: string[] = [];
    const record = await runSetup(makePlan(spec, { root, installer: "pip", torchIndexUrl: "" }), (line) => said.push(line));
    expect(record.id).toBe("lock-py");
    expect(said.some((l) => l.startsWith("waiting"))).toBe(false);
    expect(fs.existsSync(path.join(root, "lock-py.lock"))).toBe(false);
  }, 120_000);
});
