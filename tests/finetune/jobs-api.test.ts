/**
 * Fine-tune jobs through the HTTP API under the server's scheduler, with a simulated 24 GB card
 * and a test plugin with a GPU and a CPU profile (tests/fixtures/plugins/sched-train). The
 * trainer is the STAND-IN (tests/finetune/standin/trainer.py: no torch, same protocol); it
 * holds after step 2 until the host sends a command, so the test can act while the job holds
 * the GPU. Real engine workers, a real listening server for the SSE stream.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.ts";
import { createHost, type Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { tempDir } from "../helpers/temp.ts";
import { makeBaseModel, makeDataset, STANDIN, standinEnv } from "./runner-helpers.ts";

const FIXTURES = path.join(import.meta.dirname, "..", "fixtures", "plugins");
const ROOT = path.join(import.meta.dirname, "..", "..");
const root = tempDir("ft-api");
makeDataset(path.join(root, "datasets", "ds"));
makeBaseModel(path.join(root, "models", "base"));

let host: Host;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  const config = loadConfig({
    env: {},
    overrides: {
      log: { level: "silent" },
      dataDir: path.join(root, "var"),
      engines: { dirs: ["engines", FIXTURES] },
      scheduler: { devices: { simulated: [{ name: "RTX 4090", totalMb: 24564, heldByOthersMb: 500 }], cpuRamMb: 8192 }, reserveMb: 256, reservePercent: 0 },
      finetune: {
        datasetDirs: [path.join(root, "datasets")],
        runner: {
          modelDirs: [path.join(root, "models")],
          python: "python3",
          worker: STANDIN,
          env: standinEnv({ totalMb: 24564, fixedMb: 9000, perSampleSecond: 100, holdAfterStep: 2 }),
          saveEverySteps: 2,
        },
      },
    },
  });
  host = createHost(config, { log: pino({ level: "silent" }) });
  app = await buildApp(host);
  base = await app.listen({ port: 0, host: "127.0.0.1" });
});
afterAll(async () => {
  await app.close();
  await host.close();
});

const speak = () => app.inject({ method: "POST", url: "/api/speech", payload: { text: "Hello there.", engine: "sched-train" } });
const job = async (id: string) => (await app.inject(`/api/finetune/jobs/${id}`)).json();

/** Collects the SSE frames of a job until the stream ends. */
async function collect(id: string): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const res = await fetch(`${base}/api/finetune/jobs/${id}/events`);
  expect(res.headers.get("content-type")).toBe("text/event-stream");
  const text = await res.text();
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((f) => ({ event: /^event: (.*)$/m.exec(f)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(f)![1]!) }));
}

describe("fine-tune jobs API and the training lease", () => {
  it("moves a loaded GPU engine aside for the job (served from its CPU profile, visibly) and back to the GPU after it", async () => {
    const before = await speak();
    expect(before.statusCode).toBe(200);
    expect(before.headers["x-chorus-profile"]).toBe("gpu");

    const res = await app.inject({ method: "POST", url: "/api/finetune/jobs", payload: { dataset: "ds", baseModel: "base", out: "voice", epochs: 1 } });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const stream = collect(id);
    await waitFor(async () => (await job(id)).status === "paused", "the job to hold after step 2");

    const snap = (await app.inject("/api/scheduler?decisions=200")).json();
    expect(snap.training).toEqual([expect.objectContaining({ job: id, device: "cuda:0", state: "held" })]);
    const gpu = snap.devices.find((d: { id: string }) => d.id === "cuda:0");
    expect(gpu.holdings).toContainEqual(expect.objectContaining({ engine: `finetune:${id}`, profile: "training", job: id }));
    expect(gpu.holdings.some((h: { engine: string }) => h.engine === "sched-train")).toBe(false);
    expect(snap.decisions).toContainEqual(expect.objectContaining({ action: "evict", reason: "training_lease", engine: "sched-train", profile: "gpu" }));

    const during = await speak();
    expect(during.statusCode).toBe(200);
    expect(during.headers["x-chorus-profile"]).toBe("cpu");
    expect(String(during.headers["x-chorus-fallback"])).toContain(`cuda:0 is held for fine-tune job ${id}`);
    const fallback = (await app.inject("/api/scheduler?decisions=200"))
      .json()
      .decisions.filter((d: { action: string }) => d.action === "fallback")
      .at(-1);
    expect(fallback).toMatchObject({ engine: "sched-train", profile: "cpu", detail: expect.stringContaining(`held for fine-tune job ${id}`) });

    // A second job cannot have the same card: refused, naming the holder.
    const second = await app.inject({ method: "POST", url: "/api/finetune/jobs", payload: { mode: "probe", dataset: "ds", baseModel: "base" } });
    expect(second.statusCode).toBe(202);
    const secondId = second.json().id as string;
    await waitFor(async () => (await job(secondId)).status === "failed", "the second job's lease refusal");
    expect((await job(secondId)).error).toContain(`cuda:0 is already held by fine-tune job ${id}`);

    expect((await app.inject({ method: "POST", url: `/api/finetune/jobs/${id}/continue` })).statusCode).toBe(200);
    const frames = await stream;
    const final = await job(id);
    expect(final.status, final.error ?? "").toBe("finished");
    expect(final.result.modelDir).toBe(path.join(root, "models", "voice"));
    expect(frames.at(-1)).toMatchObject({ event: "state", data: { status: "finished", globalStep: final.globalStep } });
    expect(frames.some((f) => f.event === "message" && f.data.type === "checkpoint")).toBe(true);
    expect(frames.some((f) => f.event === "state" && f.data.status === "paused")).toBe(true);

    const after = (await app.inject("/api/scheduler?decisions=300")).json();
    expect(after.training).toEqual([]);
    const back = await speak();
    expect(back.headers["x-chorus-profile"]).toBe("gpu");
    expect(back.headers["x-chorus-fallback"]).toBeUndefined();
    const list = (await app.inject("/api/finetune/jobs")).json().jobs.map((j: { id: string }) => j.id);
    expect(list).toEqual(expect.arrayContaining([id, secondId]));
    const withLog = (await app.inject(`/api/finetune/jobs/${id}?log=500`)).json();
    expect(withLog.log.map((e: { event: string }) => e.event)).toEqual(
      expect.arrayContaining(["lease", "start", "progress", "checkpoint", "paused", "resumed", "finished", "result", "lease-released"]),
    );
  });

  it("chorus finetune run --server URL creates the job in the server and follows its stream", async () => {
    const cli = spawn(
      process.execPath,
      [
        path.join(ROOT, "core", "cli", "chorus.mjs"),
        "finetune",
        "run",
        "--server",
        base,
        "--dataset",
        path.join(root, "datasets", "ds"),
        "--base-model",
        path.join(root, "models", "base"),
        "--out",
        path.join(root, "models", "voice-remote"),
        "--epochs",
        "1",
      ],
      { cwd: ROOT, env: { ...process.env, CHORUS_LOG__LEVEL: "warn" } },
    );
    let out = "";
    let err = "";
    cli.stdout.on("data", (d) => (out += d));
    cli.stderr.on("data", (d) => (err += d));
    const code = new Promise((resolve) => cli.on("close", resolve));
    const id = await waitForValue(() => /job (ft-\S+) running in the Chorus at/.exec(err)?.[1], "the CLI to create the job");
    await waitFor(async () => (await job(id)).status === "paused", "the remote job to hold");
    await app.inject({ method: "POST", url: `/api/finetune/jobs/${id}/continue` });
    expect(await code, err).toBe(0);
    expect(err).toMatch(/epoch 1\/1 step \d+\/5 \[/);
    expect(out).toContain(`job ${id}: finished`);
    expect((await job(id)).status).toBe("finished");
  });

  it("answers with the catalogue's errors", async () => {
    const outside = await app.inject({ method: "POST", url: "/api/finetune/jobs", payload: { dataset: "/etc", baseModel: "base", out: "x" } });
    expect(outside.statusCode).toBe(403);
    expect(outside.json().error).toMatchObject({ code: "CHORUS_ERR_DATASET_FORBIDDEN", field: "dataset" });
    const noOut = await app.inject({ method: "POST", url: "/api/finetune/jobs", payload: { dataset: "ds", baseModel: "base" } });
    expect(noOut.json().error).toMatchObject({ code: "CHORUS_ERR_REQUEST_INVALID", field: "out" });
    const missing = await app.inject("/api/finetune/jobs/ft-nope");
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe("CHORUS_ERR_FINETUNE_JOB_NOT_FOUND");
    const bad = await app.inject({ method: "POST", url: "/api/finetune/jobs", payload: { dataset: "ds", baseModel: "base", out: "y", epochs: 0 } });
    expect(bad.json().error).toMatchObject({ code: "CHORUS_ERR_REQUEST_INVALID", field: "epochs" });
    const done = (await app.inject("/api/finetune/jobs")).json().jobs.find((j: { status: string }) => j.status === "finished");
    const del = await app.inject({ method: "DELETE", url: `/api/finetune/jobs/${done.id}` });
    expect(del.statusCode).toBe(409);
    expect(del.json().error.code).toBe("CHORUS_ERR_FINETUNE_JOB_CONFLICT");
  });
});

async function waitForValue<T>(check: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
