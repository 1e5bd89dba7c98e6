/** Training leases (core/scheduler/training.ts) on the scheduler's fakes and a manual clock. */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../helpers/clock.ts";
import { FakeCatalog, FakeLoader, gpu, makeScheduler, manifest } from "./helpers.ts";

const big = manifest("big", [
  { name: "gpu", device: "cuda", vramMb: 6000, ramMb: 100, loadSeconds: 1 },
  { name: "cpu", device: "cpu", ramMb: 300, loadSeconds: 1 },
]);
const pinned = manifest("keep", [{ name: "gpu", device: "cuda", vramMb: 5000, ramMb: 100, loadSeconds: 1 }]);

async function settle<T>(clock: ManualClock, p: Promise<T>): Promise<T> {
  let done = false;
  void p.finally(() => (done = true)).catch(() => {});
  for (let i = 0; i < 100 && !done; i++) await clock.advance(500);
  return p;
}

describe("training leases", () => {
  it("waits for in-flight work on the GPU to finish (nothing is killed mid-request), serves new requests from the CPU profile meanwhile, and gives the GPU back", async () => {
    const clock = new ManualClock();
    const loader = new FakeLoader(clock);
    const s = makeScheduler({ catalog: new FakeCatalog([big]), clock, loader, config: gpu(12000, 1000) });
    const busy = await settle(clock, s.acquire({ engineId: "big" }));
    expect(busy.profile.name).toBe("gpu");

    let held = false;
    const lease = s.training.acquire({ jobId: "ft-1", memoryMb: 8000 }).then((l) => ((held = true), l));
    await clock.advance(500);
    expect(held).toBe(false);
    expect(s.training.list()).toEqual([expect.objectContaining({ job: "ft-1", device: "cuda:0", state: "pending" })]);
    expect(loader.unloads).toEqual([]); // the request in flight keeps its engine

    const meanwhile = await settle(clock, s.acquire({ engineId: "big" }));
    expect(meanwhile.profile.name).toBe("cpu");
    expect(meanwhile.fallbackReason).toContain("cuda:0 is being cleared for fine-tune job ft-1 (8000 MB)");
    meanwhile.release();

    busy.release();
    const l = await settle(clock, lease);
    expect(loader.unloads).toContain("big:gpu");
    expect(s.snapshot(0).training).toEqual([expect.objectContaining({ job: "ft-1", state: "held", memoryMb: 8000 })]);
    expect(s.snapshot(0).devices.find((d) => d.id === "cuda:0")!.holdings).toEqual([
      expect.objectContaining({ engine: "finetune:ft-1", profile: "training", residentMb: 8000 }),
    ]);

    l.release();
    l.release(); // idempotent
    expect(s.training.list()).toEqual([]);
    const after = await settle(clock, s.acquire({ engineId: "big" }));
    expect(after.profile.name).toBe("gpu"); // the idle CPU instance moves back up
    expect(after.fallbackReason).toBeUndefined();
    after.release();
    await s.close();
  });

  it("is refused with who holds what: a pinned engine, other processes", async () => {
    const clock = new ManualClock();
    const s = makeScheduler({
      catalog: new FakeCatalog([pinned]),
      clock,
      config: { ...gpu(12000, 1500), reserveMb: 300, engines: { keep: { pinned: true } } },
    });
    (await settle(clock, s.acquire({ engineId: "keep" }))).release();
    const err = await s.training.acquire({ jobId: "ft-2", memoryMb: 8000 }).catch((e: Error & { code?: string }) => e);
    expect(err).toMatchObject({ code: "CHORUS_ERR_TRAINING_LEASE_REFUSED" });
    expect((err as Error).message).toBe(
      "fine-tune job ft-2 needs 8000 MB on cuda:0; at most 5500 MB can be had (total 12000, held by other processes 1500, pinned engines: keep:gpu 5000 MB)",
    );
    expect(s.snapshot(50).decisions).toContainEqual(expect.objectContaining({ action: "refuse", reason: "training_refused", engine: "finetune:ft-2" }));
    const none = await s.training.acquire({ jobId: "ft-3", memoryMb: 100, gpu: "7" }).catch((e: Error) => e);
    expect((none as Error).message).toContain("no GPU matches '7' (have: cuda:0 Sim (simulated))");
    await s.close();
  });
});
