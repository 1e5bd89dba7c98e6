/** Placement through the real scheduler with fakes: fit, fallbacks, eviction, waiting. */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../helpers/clock.ts";
import { ChorusError } from "../../core/errors.ts";
import { FakeCatalog, FakeLoader, gpu, makeScheduler, manifest } from "./helpers.ts";

const xtts = manifest(
  "xtts",
  [
    { name: "gpu", device: "cuda", vramMb: 3000, ramMb: 500, loadSeconds: 4 },
    { name: "lowvram", device: "cuda", vramMb: 0, transientVramMb: 1500, ramMb: 2500, loadSeconds: 5 },
    { name: "cpu", device: "cpu", ramMb: 2500, loadSeconds: 3 },
  ],
  ["piper"],
);
const piper = manifest("piper", [{ name: "cpu", device: "cpu", ramMb: 200, loadSeconds: 0.5 }]);
const mid = manifest("mid", [{ name: "gpu", device: "cuda", vramMb: 1500, loadSeconds: 2 }]);
const big = manifest("big", [{ name: "gpu", device: "cuda", vramMb: 3500, transientVramMb: 300, loadSeconds: 4 }], ["piper"]);
const small = manifest("small", [{ name: "gpu", device: "cuda", vramMb: 1000, loadSeconds: 1 }]);
const tiny = manifest("tiny", [{ name: "gpu", device: "cuda", vramMb: 500, loadSeconds: 8 }]);

function setup(config: Record<string, unknown>) {
  const clock = new ManualClock();
  const catalog = new FakeCatalog([xtts, piper, mid, big, small, tiny]);
  const loader = new FakeLoader(clock);
  const s = makeScheduler({ config, catalog, clock, loader });
  /** Acquires, letting the clock run until the lease is granted (or refused). */
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

describe("fit", () => {
  it.each([
    ["12 GB card", gpu(12288, 1024), "gpu", undefined],
    ["4 GB card, 1 GB held by others", gpu(4096, 1024), "gpu", undefined],
    ["4 GB card, 1.5 GB held by others", gpu(4096, 1536), "lowvram", /xtts:gpu needs 3000 MB on cuda:0; 2560 MB free/],
    ["no GPU", {}, "cpu", /xtts:gpu needs a GPU/],
  ])("%s: xtts gets the expected profile", async (_name, config, profile, fallback) => {
    const { s, loader, get } = setup(config);
    const lease = await get("xtts");
    expect(lease.engineId).toBe("xtts");
    expect(lease.profile.name).toBe(profile);
    if (fallback) expect(lease.fallbackReason).toMatch(fallback);
    else expect(lease.fallbackReason).toBeUndefined();
    expect(loader.loads.map((l) => l.key)).toEqual([`xtts:${profile}`]);
    expect(loader.loads[0]!.simulated).toBe(profile !== "cpu");
    expect(s.snapshot().decisions.find((d) => d.action === "load")).toMatchObject({ reason: "fits", engine: "xtts", profile });
  });

  it("keeps the reserve free: 5% of a 4 GB card tips xtts:gpu into lowvram", async () => {
    const { get } = setup({ ...gpu(4096, 1024), reservePercent: 5 });
    expect((await get("xtts")).profile.name).toBe("lowvram");
  });

  it("serves a resident engine at once, without queueing behind a load", async () => {
    const { s, get, clock } = setup(gpu(8192));
    (await get("piper")).release();
    const loading = s.acquire({ engineId: "mid" });
    await clock.advance(100); // mid is loading now
    const quick = await s.acquire({ engineId: "piper" });
    expect(quick.engineId).toBe("piper");
    await clock.advance(3000);
    expect((await loading).engineId).toBe("mid");
  });
});

describe("fallbacks", () => {
  it("walks to another engine when no own profile fits", async () => {
    const { s, get } = setup(gpu(4096, 1024));
    const lease = await get("big");
    expect(lease.engineId).toBe("piper");
    expect(lease.fallbackReason).toMatch(/big:gpu needs 3800 MB on cuda:0; 3072 MB free/);
    expect(s.snapshot().decisions.at(-1)).toMatchObject({ action: "fallback", reason: "fallback", engine: "piper", requested: "big" });
  });

  it("fallback: false refuses with 503, naming need, free memory and holders", async () => {
    const { get } = setup(gpu(4096, 1024));
    await get("small");
    const err = await get("big", { fallback: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChorusError);
    expect(err).toMatchObject({ code: "CHORUS_ERR_SCHEDULER_BUSY", statusCode: 503 });
    expect((err as ChorusError).message).toMatch(
      /big:gpu needs 3800 MB on cuda:0; 2072 MB free \(total 4096, others 1024, reserve 0, chorus: small:gpu 1000 MB\)/,
    );
    expect((err as ChorusError).retryAfter).toBeGreaterThan(0);
  });
});

describe("eviction", () => {
  it("evicts the cheapest idle set: stale or cheap-to-reload first, never busy or pinned", async () => {
    const { s, get, loader, clock } = setup(gpu(4096));
    const m = await get("mid"); // 1500, reload 2 s
    m.release();
    const sm = await get("small"); // 1000, reload 1 s
    sm.release();
    const t = await get("tiny"); // 500, reload 8 s (expensive)
    t.release();
    await clock.advance(120_000); // all idle for a while
    // xtts:gpu needs 3000 of 4096; 3000 held, 1096 free: must free 1904 -> mid + small (cost 3) beats mid + tiny (cost 10)
    const x = await get("xtts");
    expect(x.profile.name).toBe("gpu");
    expect(loader.unloads.sort()).toEqual(["mid:gpu", "small:gpu"]);
    expect(
      s
        .snapshot()
        .decisions.filter((d) => d.action === "evict")
        .map((d) => d.engine)
        .sort(),
    ).toEqual(["mid", "small"]);
    expect(s.snapshot().decisions.find((d) => d.action === "load" && d.engine === "xtts")).toMatchObject({ reason: "evicted_idle" });
  });

  it("does not evict a pinned engine, even when it is the cheapest to reload", async () => {
    const { s, get, loader, clock } = setup(gpu(4096));
    s.pin("small");
    (await get("small")).release(); // 1000, reload 1 s: the cheapest to evict, were it not pinned
    (await get("tiny")).release(); // 500, reload 8 s
    await clock.advance(120_000); // both idle for a while
    // xtts:gpu needs 3000 of 4096; 1500 held, 2596 free: evicting either one is enough.
    const x = await get("xtts", { fallback: false });
    expect(x.profile.name).toBe("gpu");
    expect(loader.unloads).toEqual(["tiny:gpu"]);
    expect(s.snapshot().engines.find((e) => e.engine === "small")).toMatchObject({ pinned: true, inFlight: 0 });
    // Unpinned, the same engine is evictable again (the cheapest set now is small alone).
    x.release();
    s.pin("small", false);
    (await get("big", { fallback: false })).release(); // 3500 + 300: xtts (3000) and small (1000) must go
    expect(loader.unloads.sort()).toEqual(["small:gpu", "tiny:gpu", "xtts:gpu"]);
  });

  it("keeps a pinned engine and does not wait for a busy one when a lower profile fits now", async () => {
    const { s, get, loader, clock } = setup({ ...gpu(4096), requestDeadlineSeconds: 600 });
    s.pin("small");
    (await get("small")).release();
    const busy = await get("mid"); // held
    const waiting = s.acquire({ engineId: "xtts", fallback: false });
    let granted = false;
    void waiting.then(() => (granted = true));
    await clock.advance(30_000);
    // xtts:gpu (3000) needs mid gone; small is pinned; lowvram needs 1500 transient (free 1596) -> fits
    // ...so xtts loads lowvram at once instead of waiting
    expect(granted).toBe(true);
    expect((await waiting).profile.name).toBe("lowvram");
    expect(loader.unloads).toEqual([]);
    busy.release();
  });

  it("waits for a running request to release memory when nothing else can serve", async () => {
    const { s, get, loader, clock } = setup({ ...gpu(4096), requestDeadlineSeconds: 600 });
    const busy = await get("mid"); // 1500 held, in flight
    const waiting = s.acquire({ engineId: "big", fallback: false }); // needs 3800
    let granted = false;
    void waiting.then(() => (granted = true));
    await clock.advance(60_000);
    expect(granted).toBe(false);
    expect(s.snapshot().engines.find((e) => e.engine === "mid")).toMatchObject({ inFlight: 1 });
    expect(s.queued).toBe(1);
    busy.release();
    await clock.advance(10_000);
    expect(granted).toBe(true);
    expect(loader.unloads).toEqual(["mid:gpu"]);
    expect((await waiting).engineId).toBe("big");
  });

  it("respects maxLoaded by evicting the cheapest idle engine", async () => {
    const { get, loader, clock } = setup({ ...gpu(16384), maxLoaded: 2 });
    (await get("tiny")).release();
    await clock.advance(1000);
    (await get("small")).release();
    await get("mid");
    expect(loader.unloads).toEqual(["small:gpu"]);
  });
});
