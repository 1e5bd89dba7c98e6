/** Queue, deadlines, cancellation, OOM recovery, keep-alive, pinning, generations, learned footprints. */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../helpers/clock.ts";
import { expiryDelayMs } from "../../core/scheduler/keep-alive.ts";
import { ChorusError } from "../../core/errors.ts";
import { SynthesisAbortedError } from "../../packages/sdk/src/index.ts";
import { FakeCatalog, FakeLoader, FakeProbe, gpu, makeScheduler, manifest } from "./helpers.ts";

const xtts = manifest(
  "xtts",
  [
    { name: "gpu", device: "cuda", vramMb: 3000, ramMb: 500, loadSeconds: 4 },
    { name: "cpu", device: "cpu", ramMb: 2500, loadSeconds: 3 },
  ],
  ["piper"],
);
const piper = manifest("piper", [{ name: "cpu", device: "cpu", ramMb: 200, loadSeconds: 0.5 }]);
const mid = manifest("mid", [{ name: "gpu", device: "cuda", vramMb: 1500, loadSeconds: 2 }]);

function setup(config: Record<string, unknown> = {}, probe?: FakeProbe) {
  const clock = new ManualClock();
  const catalog = new FakeCatalog([xtts, piper, mid]);
  const loader = new FakeLoader(clock);
  const s = makeScheduler({ config, catalog, clock, loader, probe });
  const get = async (engineId: string, extra: Record<string, unknown> = {}) => {
    const p = s.acquire({ engineId, ...extra });
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let i = 0; i < 100 && !settled; i++) await clock.advance(500);
    return p;
  };
  return { clock, catalog, loader, s, get };
}

const settled = <T>(p: Promise<T>) => {
  const state = { done: false, value: undefined as T | undefined, error: undefined as unknown };
  p.then(
    (v) => ((state.done = true), (state.value = v)),
    (e: unknown) => ((state.done = true), (state.error = e)),
  );
  return state;
};

describe("queue", () => {
  it("queue full: 503 CHORUS_ERR_SCHEDULER_BUSY with Retry-After", async () => {
    const { s, get } = setup({ ...gpu(8192), queueSize: 2 });
    const held = await get("piper");
    const a = settled(s.acquire({ engineId: "piper" }));
    const b = settled(s.acquire({ engineId: "piper" }));
    const err = await s.acquire({ engineId: "piper" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChorusError);
    expect(err).toMatchObject({ code: "CHORUS_ERR_SCHEDULER_BUSY", statusCode: 503, retryAfter: 1 });
    expect(s.snapshot().decisions.at(-1)).toMatchObject({ action: "refuse", reason: "queue_full" });
    held.release();
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    expect(a.done).toBe(true);
    expect(b.done).toBe(false); // maxParallel 1: b waits for a
  });

  it("deadline: a request waiting too long gets 503 with Retry-After", async () => {
    const { s, get, clock } = setup({ ...gpu(8192), requestDeadlineSeconds: 30 });
    await get("piper");
    const waiting = settled(s.acquire({ engineId: "piper" }));
    await clock.advance(29_000);
    expect(waiting.done).toBe(false);
    await clock.advance(2_000);
    expect(waiting.error).toMatchObject({ code: "CHORUS_ERR_SCHEDULER_BUSY", retryAfter: 1 });
    expect((waiting.error as Error).message).toMatch(/within 30 s \(wait_capacity\)/);
    expect(s.queued).toBe(0);
  });

  it("a client that disconnects cancels its own wait, not the load others wait for", async () => {
    const { s, clock, loader } = setup(gpu(8192));
    const controller = new AbortController();
    const first = settled(s.acquire({ engineId: "mid", signal: controller.signal }));
    const second = settled(s.acquire({ engineId: "mid" }));
    await clock.advance(500); // load under way (2 s)
    controller.abort();
    await clock.advance(0);
    expect(first.error).toBeInstanceOf(SynthesisAbortedError);
    expect(s.queued).toBe(1);
    await clock.advance(2000);
    expect(second.value?.engineId).toBe("mid");
    expect(loader.loads.map((l) => l.key)).toEqual(["mid:gpu"]);
  });
});

describe("out-of-memory recovery", () => {
  it("OOM while loading: records the higher need, cools the profile down, serves from the next", async () => {
    const { s, get, loader } = setup(gpu(8192));
    loader.misbehave.set("xtts:gpu", "oom");
    const lease = await get("xtts");
    expect(`${lease.engineId}:${lease.profile.name}`).toBe("xtts:cpu");
    expect(lease.fallbackReason).toMatch(/xtts:gpu is cooling down/);
    const snap = s.snapshot();
    expect(snap.decisions).toContainEqual(expect.objectContaining({ action: "oom", reason: "oom_load", engine: "xtts", profile: "gpu" }));
    expect(snap.cooldowns).toEqual([expect.objectContaining({ key: "xtts:gpu", remainingMs: expect.any(Number) })]);
  });

  it("cooldown doubles after each failed load and the profile is retried after it", async () => {
    const { s, get, loader, clock } = setup({ ...gpu(8192), cooldown: { initialSeconds: 10, maxSeconds: 25 } });
    loader.misbehave.set("mid:gpu", "fail");
    const first = await get("mid").catch((e: unknown) => e);
    expect(first).toMatchObject({ code: "CHORUS_ERR_ENGINE_UNAVAILABLE", retryAfter: 10 });
    expect((first as Error).message).toMatch(/cooling down/);
    await clock.advance(10_000);
    expect(await get("mid").catch((e: unknown) => e)).toMatchObject({ retryAfter: 20 });
    await clock.advance(20_000);
    expect(await get("mid").catch((e: unknown) => e)).toMatchObject({ retryAfter: 25 });
    loader.misbehave.delete("mid:gpu");
    await clock.advance(25_000);
    expect((await get("mid")).engineId).toBe("mid");
    expect(s.snapshot().cooldowns).toEqual([]);
  });

  it("OOM during synthesis: the instance drains and unloads, the retry is placed down the chain", async () => {
    const { s, get, loader, clock } = setup(gpu(8192));
    const lease = await get("xtts");
    expect(lease.profile.name).toBe("gpu");
    const avoid = lease.reportOutOfMemory!(9000);
    expect(avoid).toBe("xtts:gpu");
    lease.release();
    await clock.advance(0);
    expect(loader.unloads).toEqual(["xtts:gpu"]);
    const retry = await get("xtts", { avoid: [avoid] });
    expect(`${retry.engineId}:${retry.profile.name}`).toBe("xtts:cpu");
    retry.release();
    // the raised need (9000 MB) no longer fits an 8 GB card: later requests skip xtts:gpu too
    s.unload("xtts");
    await clock.advance(0);
    expect((await get("xtts")).profile.name).toBe("cpu");
    expect(s.snapshot().decisions).toContainEqual(expect.objectContaining({ action: "oom", reason: "oom_synthesis" }));
  });

  it("OOM during synthesis: the retry must fit the recorded peak, so the same card's low-VRAM profile is passed over", async () => {
    const clock = new ManualClock();
    // XTTS-like: resident GPU, per-request GPU (low-VRAM), CPU, then a fallback engine.
    const big = manifest(
      "big",
      [
        { name: "gpu", device: "cuda", vramMb: 3000, loadSeconds: 1 },
        { name: "lowvram", device: "cuda", vramMb: 0, transientVramMb: 3000, ramMb: 3000, loadSeconds: 1 },
        { name: "cpu", device: "cpu", ramMb: 3000, loadSeconds: 1 },
      ],
      ["piper"],
    );
    const s = makeScheduler({ config: gpu(8192, 4000), catalog: new FakeCatalog([big, piper]), clock });
    const get = async (extra: Record<string, unknown> = {}) => {
      const p = s.acquire({ engineId: "big", ...extra });
      for (let i = 0; i < 20; i++) await clock.advance(500);
      return p;
    };
    const lease = await get();
    expect(lease.profile.name).toBe("gpu");
    // The engine could have had 4192 MB on the card (3000 held + 1192 free): it needed more.
    const avoid = lease.reportOutOfMemory!(2048);
    lease.release();
    const retry = await get({ avoid: [avoid] });
    expect(`${retry.engineId}:${retry.profile.name}`).toBe("big:cpu");
    expect(retry.fallbackReason).toMatch(
      /big:lowvram unavailable \(big:lowvram needs 4193 MB on cuda:0 \(its peak, recorded at an out-of-memory while synthesising\)/,
    );
    expect(s.snapshot().decisions).toContainEqual(expect.objectContaining({ action: "fallback", reason: "fallback", engine: "big", profile: "cpu" }));
    expect(s.snapshot().peakNeedsMb).toEqual({ big: 4193 });
    retry.release();
  });
});

describe("keep-alive and pinning", () => {
  it("unloads an idle engine when its keep-alive expires", async () => {
    const { s, get, loader, clock } = setup({ ...gpu(8192), keepAliveSeconds: 60 });
    (await get("mid")).release();
    expect(s.snapshot().engines[0]).toMatchObject({ engine: "mid", unloadAt: new Date(clock.now() + 60_000).toISOString() });
    await clock.advance(59_000);
    expect(loader.unloads).toEqual([]);
    await clock.advance(1_000);
    expect(loader.unloads).toEqual(["mid:gpu"]);
    expect(s.isLoaded("mid")).toBe(false);
    expect(s.snapshot().decisions.at(-1)).toMatchObject({ action: "unload", reason: "keep_alive_expired" });
  });

  it.each([
    ["request override 0 unloads at once", { keepAliveSeconds: 0 }, 0, true],
    ["request override -1 never unloads", { keepAliveSeconds: -1 }, 10_000_000, false],
    ["per-engine config override", {}, 5_000, true],
  ])("%s", async (_name, request, wait, unloaded) => {
    const { get, loader, clock } = setup({ ...gpu(8192), keepAliveSeconds: 300, engines: { mid: { keepAliveSeconds: 5 } } });
    (await get("mid", request)).release();
    await clock.advance(wait);
    expect(loader.unloads.length > 0).toBe(unloaded);
  });

  it("a pinned engine never expires; unpinning re-arms its keep-alive", async () => {
    const { s, get, loader, clock } = setup({ ...gpu(8192), keepAliveSeconds: 10, engines: { mid: { pinned: true } } });
    (await get("mid")).release();
    await clock.advance(3_600_000);
    expect(loader.unloads).toEqual([]);
    s.pin("mid", false);
    await clock.advance(10_000);
    expect(loader.unloads).toEqual(["mid:gpu"]);
  });

  it("keep-alives past Node's timer limit (~24.8 days) mean never, instead of firing at once", async () => {
    expect(expiryDelayMs(60, false)).toBe(60_000);
    expect(expiryDelayMs(2_147_483, false)).toBe(2_147_483_000);
    expect(expiryDelayMs(3_000_000, false)).toBeUndefined(); // setTimeout would fire at once
    expect(expiryDelayMs(1e308, false)).toBeUndefined();
    const { s, get, loader, clock } = setup({ ...gpu(8192), keepAliveSeconds: 300 });
    (await get("mid", { keepAliveSeconds: 1e308 })).release();
    await clock.advance(10_000);
    expect(loader.unloads).toEqual([]);
    expect(() => s.snapshot()).not.toThrow(); // no Invalid Date in unloadAt
    expect(s.snapshot().engines[0]).toMatchObject({ engine: "mid", unloadAt: null });
  });

  it("runtime keep-alive change applies to an idle engine", async () => {
    const { s, get, loader, clock } = setup({ ...gpu(8192), keepAliveSeconds: 300 });
    (await get("mid")).release();
    s.setKeepAlive("mid", 2);
    await clock.advance(2_000);
    expect(loader.unloads).toEqual(["mid:gpu"]);
  });
});

describe("plugin generations", () => {
  it("a stale instance takes no new leases, drains, unloads; new requests load the new generation", async () => {
    const { s, get, loader, catalog, clock } = setup(gpu(8192));
    const old = await get("mid");
    catalog.bump("mid");
    const fresh = settled(s.acquire({ engineId: "mid" }));
    await clock.advance(3000);
    expect(fresh.value?.engineId).toBe("mid");
    expect(loader.loads.map((l) => l.key)).toEqual(["mid:gpu", "mid:gpu"]);
    expect(loader.unloads).toEqual([]);
    old.release();
    await clock.advance(0);
    expect(loader.unloads).toEqual(["mid:gpu"]);
    expect(s.snapshot().decisions).toContainEqual(expect.objectContaining({ reason: "stale_generation" }));
  });
});

describe("real GPUs (fake nvidia-smi readings)", () => {
  const reading = (usedMb: number) => ({ ok: true as const, gpus: [{ index: 0, uuid: "GPU-1", name: "RTX", totalMb: 12288, usedMb, freeMb: 12288 - usedMb }] });

  it("learns the measured footprint after a load", async () => {
    const probe = new FakeProbe(reading(1000));
    const clock = new ManualClock();
    const loader = new FakeLoader(clock);
    const s = makeScheduler({
      config: { devices: { gpus: "auto" } },
      catalog: new FakeCatalog([mid]),
      clock,
      loader: {
        load: async (...a) => {
          const e = await loader.load(...a);
          probe.result = reading(1000 + 2100);
          return e;
        },
      },
      probe,
    });
    const p = s.acquire({ engineId: "mid" });
    await clock.advance(2000);
    await p;
    const snap = s.snapshot();
    expect(snap.devices[1]!.holdings).toEqual([expect.objectContaining({ engine: "mid", residentMb: 2100 })]);
    expect(snap.devices[1]!.heldByOthersMb).toBe(1000);
    expect(snap.decisions).toContainEqual(expect.objectContaining({ action: "learn", reason: "learned_footprint" }));
  });

  it("after an eviction, waits until the memory is really back before loading", async () => {
    const probe = new FakeProbe(reading(500));
    const clock = new ManualClock();
    const loader = new FakeLoader(clock);
    const big = manifest("big", [{ name: "gpu", device: "cuda", vramMb: 11000, loadSeconds: 1 }]);
    const s = makeScheduler({
      config: { devices: { gpus: "auto" }, release: { pollMs: 250, timeoutMs: 5000, fraction: 0.75 } },
      catalog: new FakeCatalog([mid, big]),
      clock,
      loader: {
        load: async (id, prof, o) => {
          const e = await loader.load(id, prof, o);
          probe.result = reading(500 + prof.vramMb);
          return {
            ...e,
            unload: async () => {
              await e.unload();
              clock.timer(1000, () => (probe.result = reading(500)));
            },
          };
        },
      },
      probe,
    });
    const m = s.acquire({ engineId: "mid" });
    await clock.advance(2000);
    (await m).release();
    const b = settled(s.acquire({ engineId: "big" }));
    await clock.advance(900);
    expect(loader.unloads).toEqual(["mid:gpu"]);
    expect(loader.loads.length).toBe(1); // memory not back yet: no load
    await clock.advance(400);
    expect(loader.loads.map((l) => l.key)).toEqual(["mid:gpu", "big:gpu"]);
    expect(loader.loads[1]!.at).toBeGreaterThanOrEqual(1000 + 2000);
    await clock.advance(1000);
    expect(b.value?.engineId).toBe("big");
  });

  it("no usable GPU data: GPU profiles are skipped, the CPU serves", async () => {
    const probe = new FakeProbe({ ok: false, reason: "nvidia-smi not found" });
    const clock = new ManualClock();
    const s = makeScheduler({ config: { devices: { gpus: "auto" } }, catalog: new FakeCatalog([xtts, piper]), clock, probe });
    const p = s.acquire({ engineId: "xtts" });
    await clock.advance(5000);
    expect((await p).profile.name).toBe("cpu");
    expect(s.snapshot().gpu).toEqual({ ok: false, reason: "nvidia-smi not found" });
  });
});
