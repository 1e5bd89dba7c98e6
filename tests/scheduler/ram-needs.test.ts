/**
 * After the host stops an engine past its RAM limit (core/registry/memory-limit.ts), the
 * scheduler books the RAM the engine held then for its next placement (core/scheduler/
 * ram-needs.ts), the way a GPU OOM raises a profile's VRAM: a placement that cannot fit the
 * higher need waits, evicts, falls back or is refused, instead of loading on RAM that is not there.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../helpers/clock.ts";
import { FakeCatalog, FakeLoader, gpu, makeScheduler, manifest } from "./helpers.ts";

const leaky = manifest("leaky", [{ name: "cpu", device: "cpu", ramMb: 100, loadSeconds: 1 }], ["piper"]);
const big = manifest("big", [{ name: "cpu", device: "cpu", ramMb: 300, loadSeconds: 1 }]);
const piper = manifest("piper", [{ name: "cpu", device: "cpu", ramMb: 200, loadSeconds: 0.5 }]);
const xtts = manifest("xtts", [{ name: "gpu", device: "cuda", vramMb: 3000, ramMb: 500, loadSeconds: 1 }]);

function setup() {
  const clock = new ManualClock();
  const catalog = new FakeCatalog([leaky, big, piper, xtts]);
  const loader = new FakeLoader(clock);
  const s = makeScheduler({
    config: { ...gpu(8192), devices: { cpuRamMb: 1000, simulated: [{ name: "Sim", totalMb: 8192 }] }, keepAliveSeconds: 300 },
    catalog,
    clock,
    loader,
  });
  const start = (engineId: string, extra: Record<string, unknown> = {}) => {
    const p = s.acquire({ engineId, ...extra });
    const state = { done: false, error: undefined as unknown };
    p.then(
      () => (state.done = true),
      (e: unknown) => ((state.done = true), (state.error = e)),
    );
    return { p, state };
  };
  const run = async (state: { done: boolean }) => {
    for (let i = 0; i < 40 && !state.done; i++) await clock.advance(500);
  };
  const get = async (engineId: string, extra: Record<string, unknown> = {}) => {
    const { p, state } = start(engineId, extra);
    await run(state);
    return p;
  };
  /** A memory kill of `engineId` while it serves a lease, holding `heldMb`. */
  const kill = async (engineId: string, heldMb: number) => {
    const lease = await get(engineId, { fallback: false });
    const avoid = lease.reportOutOfMemory!(heldMb, "ram");
    lease.release();
    await clock.advance(0);
    return avoid;
  };
  const cpuHoldings = () =>
    s
      .snapshot()
      .devices.find((d) => d.id === "cpu")!
      .holdings.map((h) => `${h.engine}:${h.residentMb}`);
  return { clock, catalog, loader, s, get, start, run, kill, cpuHoldings };
}

describe("RAM need measured at a memory kill", () => {
  it("is recorded, logged, and booked for the next instance", async () => {
    const { s, get, kill, loader, cpuHoldings } = setup();
    expect(await kill("leaky", 640.4)).toBe("leaky:cpu");
    expect(loader.unloads).toEqual(["leaky:cpu"]); // the stopped instance retires
    const snap = s.snapshot();
    expect(snap.ramNeedsMb).toEqual({ "leaky:cpu": 641 });
    expect(snap.decisions).toContainEqual(
      expect.objectContaining({
        action: "oom",
        reason: "memory_limit",
        engine: "leaky",
        detail: expect.stringMatching(/held 640 MB of RAM \(declared 100 MB\); its next placement books 641 MB/),
      }),
    );
    const lease = await get("leaky", { fallback: false });
    expect(lease.engineId).toBe("leaky");
    expect(cpuHoldings()).toEqual(["leaky:641"]);
    // a later kill that held less never lowers the figure
    lease.release();
    await kill("leaky", 300);
    expect(s.snapshot().ramNeedsMb).toEqual({ "leaky:cpu": 641 });
  });

  // (the ladder waits for its own profiles before it takes a fallback: placement.ts)
  it("a placement that cannot fit the higher need now waits for busy engines, then loads", async () => {
    const { get, start, run, kill, clock, cpuHoldings } = setup();
    await kill("leaky", 640);
    const busy = [await get("piper"), await get("big")]; // 500 MB of the 1000 held by running requests
    const waiting = start("leaky", { fallback: false });
    await run(waiting.state);
    expect(waiting.state.done).toBe(false); // queued: 641 MB do not fit beside them, but will
    busy[1]!.release(); // big goes idle: evicted for leaky
    await run(waiting.state);
    const lease = await waiting.p;
    expect(lease.engineId).toBe("leaky");
    expect(cpuHoldings().sort()).toEqual(["leaky:640", "piper:200"]);
    lease.release();
    busy[0]!.release();
    await clock.advance(0);
  });

  it("a need larger than the whole RAM budget is refused, not loaded to be killed again", async () => {
    const { s, get, kill, loader } = setup();
    await kill("leaky", 4000);
    const loads = loader.loads.length;
    const err = await get("leaky", { fallback: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CHORUS_ERR_SCHEDULER_BUSY" });
    expect((err as Error).message).toMatch(/leaky:cpu needs 4000 MB on cpu \(measured when it was stopped past its RAM limit\)/);
    expect(loader.loads.length).toBe(loads); // no load, so no second kill
    // with fallback: served down the chain, saying why
    const lease = await get("leaky");
    expect(lease.engineId).toBe("piper");
    expect(lease.fallbackReason).toMatch(/leaky:cpu needs 4000 MB on cpu \(measured when it was stopped past its RAM limit\)/);
    lease.release();
    expect(s.snapshot().decisions.filter((d) => d.action === "oom")).toHaveLength(1);
  });

  it("a RAM kill of a GPU profile raises its RAM, not its VRAM", async () => {
    const { s, get, kill } = setup();
    await kill("xtts", 900);
    const snap = s.snapshot();
    expect(snap.ramNeedsMb).toEqual({ "xtts:gpu": 900 });
    expect(snap.peakNeedsMb).toEqual({});
    const lease = await get("xtts", { fallback: false });
    expect(lease.profile.name).toBe("gpu");
    const gpuHolding = s.snapshot().devices.find((d) => d.kind === "cuda")!.holdings[0];
    expect(gpuHolding).toMatchObject({ engine: "xtts", residentMb: 3000 });
    lease.release();
  });

  it("a new plugin generation starts from its declaration again", async () => {
    const { catalog, get, kill, cpuHoldings } = setup();
    await kill("leaky", 640);
    catalog.bump("leaky");
    const lease = await get("leaky", { fallback: false });
    expect(cpuHoldings()).toEqual(["leaky:100"]);
    lease.release();
  });
});
