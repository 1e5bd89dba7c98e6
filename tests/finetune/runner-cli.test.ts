/**
 * `chorus finetune run` as a user runs it (a child process, no TTY), with the STAND-IN trainer
 * (tests/finetune/standin/trainer.py: no torch, same protocol) holding after step 3: Ctrl-C
 * (SIGINT) stops the job at a checkpoint, `--resume JOB` continues from it, and
 * GET /api/finetune/jobs/:id of a server over the same data folder shows what the terminal showed.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.ts";
import { progressLine } from "../../core/finetune/runner/render.ts";
import { createHost } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { tempDir } from "../helpers/temp.ts";
import { makeBaseModel, makeDataset, STANDIN, standinEnv, until } from "./runner-helpers.ts";

const ROOT = path.join(import.meta.dirname, "..", "..");
const dir = tempDir("ft-cli");
const dataset = makeDataset(path.join(dir, "dataset"));
const baseModel = makeBaseModel(path.join(dir, "base"));
const jobs = path.join(dir, "jobs");
const overrides = {
  dataDir: path.join(dir, "var"),
  scheduler: { devices: { simulated: [{ name: "RTX 4090", totalMb: 24564, heldByOthersMb: 0 }] }, reserveMb: 256, reservePercent: 0 },
  finetune: {
    runner: {
      python: "python3",
      worker: STANDIN,
      env: standinEnv({ totalMb: 24564, fixedMb: 9000, perSampleSecond: 100, holdAfterStep: 3, stepSeconds: 0.01 }),
      saveEverySteps: 2,
      jobsDir: jobs,
    },
  },
};
const configFile = path.join(dir, "chorus.json");
fs.writeFileSync(configFile, JSON.stringify({ ...overrides, log: { level: "silent" } }));

function chorus(args: string[]) {
  const child = spawn(process.execPath, [path.join(ROOT, "core", "cli", "chorus.mjs"), "--config", configFile, "finetune", ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const done = new Promise<number | null>((resolve) => child.on("close", resolve));
  return { child, done, out: () => stdout, err: () => stderr };
}

const logOf = (id: string) =>
  fs
    .readFileSync(path.join(jobs, id, "log.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("chorus finetune run", () => {
  it("shows progress, stops on Ctrl-C at a checkpoint, --resume continues from it, and the API shows the same state", async () => {
    const first = chorus(["run", "--dataset", dataset, "--base-model", baseModel, "--out", path.join(dir, "voice"), "--epochs", "2", "--server", "off"]);
    const id = await until(() => (fs.existsSync(jobs) ? fs.readdirSync(jobs)[0] : undefined), "the job folder");
    await until(() => fs.existsSync(path.join(jobs, id, "log.jsonl")) && logOf(id).some((e) => e.event === "paused"), "the stand-in to hold after step 3");
    first.child.kill("SIGINT");
    expect(await first.done).toBe(130);
    expect(first.err()).toMatch(
      /epoch 1\/2 step \d+\/5 \[#*-*\] \d+% loss [\d.]+ lr 5\.0e-6 mem [\d.]+\/24\.0 GB \(peak [\d.]+\) [\d.]+ samples\/s left \S+ batch 4x1/,
    );
    expect(first.err()).toContain("checkpoint at step 2 (steps)");
    expect(first.out()).toContain(`job ${id}: stopped`);
    expect(first.out()).toContain(`resume with: chorus finetune run --resume ${id}`);
    const stopped = JSON.parse(fs.readFileSync(path.join(jobs, id, "job.json"), "utf8")).state;
    expect(stopped).toMatchObject({ status: "stopped", lastCheckpoint: { globalStep: 3 } });

    const second = chorus(["run", "--resume", id, "--server", "off"]);
    expect(await second.done, second.err()).toBe(0);
    const starts = logOf(id).filter((e) => e.event === "start");
    expect(starts.at(-1)).toMatchObject({ resumedFrom: { globalStep: 3, checkpoint: expect.stringContaining("checkpoint_3") } });
    const progress = logOf(id)
      .filter((e) => e.event === "progress")
      .map((e) => e.globalStep);
    expect(progress.slice(progress.indexOf(3) + 1)[0]).toBe(4); // step 4 follows the checkpoint, nothing redone or skipped
    expect(second.out()).toContain(`job ${id}: finished`);
    const lastLine = second.err().trim().split("\n").at(-1)!;

    const host = createHost(loadConfig({ env: {}, overrides: { ...overrides, log: { level: "silent" } } }), { log: pino({ level: "silent" }) });
    const app = await buildApp(host);
    try {
      const state = (await app.inject(`/api/finetune/jobs/${id}`)).json();
      expect(state).toMatchObject({ status: "finished", globalStep: 10, totalSteps: 10, resumedFrom: { globalStep: 3 } });
      expect(progressLine(state)).toBe(lastLine);
      expect(lastLine).toMatch(/^finished epoch 2\/2 step 5\/5 \[#{24}\] 100% loss/);
    } finally {
      await app.close();
      await host.close();
    }
  });
});
