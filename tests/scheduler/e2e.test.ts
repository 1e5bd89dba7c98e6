/**
 * End to end through the HTTP server: a simulated 4 GB card with 1 GB held by others, and a
 * test plugin whose GPU profile needs more than fits. Real engine workers, fastify inject.
 */
import path from "node:path";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.ts";
import { createHost, type Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { waitFor } from "../hotswap/server.ts";

const FIXTURES = path.join(import.meta.dirname, "..", "fixtures", "plugins");

let host: Host;
let app: FastifyInstance;

beforeAll(async () => {
  const config = loadConfig({
    env: {},
    overrides: {
      log: { level: "silent" },
      engines: { dirs: ["engines", FIXTURES] },
      scheduler: { devices: { simulated: [{ name: "Test card", totalMb: 4096, heldByOthersMb: 1024 }], cpuRamMb: 8192 }, reserveMb: 256, reservePercent: 0 },
    },
  });
  host = createHost(config, { log: pino({ level: "silent" }) });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

describe("scheduler over HTTP with a simulated 4 GB card", () => {
  it("serves a request for an engine that does not fit from its fallback, visibly", async () => {
    const res = await app.inject({ method: "POST", url: "/api/speech", payload: { text: "Hello there.", engine: "sched-big" } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-chorus-engine"]).toBe("espeak");
    expect(res.headers["x-chorus-profile"]).toBe("cpu");
    expect(String(res.headers["x-chorus-fallback"])).toContain("sched-big:gpu-fp16");
    expect(res.rawPayload.subarray(0, 4).toString()).toBe("RIFF");

    const snap = (await app.inject("/api/scheduler")).json();
    const gpu = snap.devices.find((d: { id: string }) => d.id === "cuda:0");
    expect(gpu).toMatchObject({ simulated: true, totalMb: 4096, heldByOthersMb: 1024, reserveMb: 256 });
    const cpu = snap.devices.find((d: { id: string }) => d.id === "cpu");
    expect(cpu.holdings).toContainEqual(expect.objectContaining({ engine: "espeak", profile: "cpu", residentMb: 64 }));
    expect(snap.engines).toContainEqual(expect.objectContaining({ engine: "espeak", profile: "cpu", state: "ready" }));
    const fallback = snap.decisions.find((d: { action: string }) => d.action === "fallback");
    expect(fallback).toMatchObject({ reason: "fallback", engine: "espeak", requested: "sched-big" });
    expect(fallback.detail).toMatch(/needs 3800 MB on cuda:0; 2816 MB free \(total 4096, others 1024, reserve 256/);
  });

  it("refuses with 503 naming need and free memory when fallbacks are forbidden", async () => {
    const res = await app.inject({ method: "POST", url: "/api/speech", payload: { text: "Hello.", engine: "sched-big", fallback: false } });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBeDefined();
    expect(res.json().error).toMatchObject({ code: "CHORUS_ERR_SCHEDULER_BUSY", reason: "no_fit" });
    expect(res.json().error.message).toContain("needs 3800 MB on cuda:0; 2816 MB free");
  });

  it("recovers from an out-of-memory while loading: the CPU profile serves", async () => {
    const res = await app.inject({ method: "POST", url: "/api/speech", payload: { text: "One.", engine: "sched-oom-load" } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-chorus-engine"]).toBe("sched-oom-load");
    expect(res.headers["x-chorus-profile"]).toBe("cpu");
    const snap = (await app.inject("/api/scheduler?decisions=200")).json();
    expect(snap.decisions).toContainEqual(expect.objectContaining({ action: "oom", reason: "oom_load", engine: "sched-oom-load", profile: "gpu" }));
    expect(snap.cooldowns).toContainEqual(expect.objectContaining({ key: "sched-oom-load:gpu" }));
  });

  it("recovers from an out-of-memory during synthesis: re-placed and retried once", async () => {
    const res = await app.inject({ method: "POST", url: "/api/speech", payload: { text: "Two words.", engine: "sched-oom-synth" } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-chorus-engine"]).toBe("sched-oom-synth");
    expect(res.headers["x-chorus-profile"]).toBe("cpu");
    const snap = (await app.inject("/api/scheduler?decisions=200")).json();
    expect(snap.decisions).toContainEqual(expect.objectContaining({ action: "oom", reason: "oom_synthesis", engine: "sched-oom-synth", profile: "gpu" }));
    const metrics = await app.inject("/metrics");
    expect(metrics.body).toMatch(/chorus_scheduler_ooms_total\{engine="sched-oom-synth",profile="gpu",phase="synthesis"\} 1/);
    expect(metrics.body).toMatch(/chorus_scheduler_fallbacks_total\{requested="sched-big",engine="espeak",profile="cpu"\} 1/);
  });

  it("keeps going down the chain when the fallback runs out of memory too (bounded re-placements)", async () => {
    // eSpeak not loaded, so the request waits for the first fallback's load rather than being served by a loaded eSpeak.
    await app.inject({ method: "POST", url: "/api/scheduler/engines/espeak/unload" });
    await waitFor(
      async () => !(await app.inject("/api/scheduler")).json().engines.some((e: { engine: string }) => e.engine === "espeak"),
      5000,
      "eSpeak unloaded",
    );
    const res = await app.inject({ method: "POST", url: "/api/speech", payload: { text: "Two words.", engine: "sched-oom-chain" } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers["x-chorus-engine"]).toBe("espeak");
    const snap = (await app.inject("/api/scheduler?decisions=200")).json();
    for (const engine of ["sched-oom-chain", "sched-oom-chain2"])
      expect(snap.decisions).toContainEqual(expect.objectContaining({ action: "oom", reason: "oom_synthesis", engine, profile: "gpu" }));
    expect(snap.decisions).toContainEqual(expect.objectContaining({ action: "fallback", reason: "fallback", engine: "espeak", requested: "sched-oom-chain" }));
  });

  it("runtime controls: pin, keep-alive, unload", async () => {
    expect((await app.inject({ method: "POST", url: "/api/scheduler/engines/espeak/pin" })).json()).toEqual({ engine: "espeak", pinned: true });
    let snap = (await app.inject("/api/scheduler")).json();
    expect(snap.engines.find((e: { engine: string }) => e.engine === "espeak")).toMatchObject({ pinned: true, unloadAt: null });
    const ka = await app.inject({ method: "POST", url: "/api/scheduler/engines/espeak/keepalive", payload: { seconds: 42 } });
    expect(ka.json()).toEqual({ engine: "espeak", keepAliveSeconds: 42 });
    await app.inject({ method: "POST", url: "/api/scheduler/engines/espeak/unpin" });
    snap = (await app.inject("/api/scheduler")).json();
    expect(snap.engines.find((e: { engine: string }) => e.engine === "espeak")).toMatchObject({ pinned: false, keepAliveSeconds: 42 });
    expect((await app.inject({ method: "POST", url: "/api/scheduler/engines/espeak/unload" })).json()).toEqual({ engine: "espeak", unloading: 1 });
    expect((await app.inject({ method: "POST", url: "/api/scheduler/engines/nope/pin" })).statusCode).toBe(404);
    expect((await app.inject({ method: "POST", url: "/api/scheduler/engines/espeak/lowvram", payload: { enabled: "yes" } })).statusCode).toBe(400);
  });
});
