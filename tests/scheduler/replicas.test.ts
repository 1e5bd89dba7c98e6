/**
 * Replicas of a CPU engine (`parallelism: "replicas"`, core/scheduler/replicas.ts): the
 * scheduler loads min(maxParallel, core budget) copies, books `ramMb` for each (in the
 * snapshot, and in what a refusal says), grants one lease per copy at once, and the sentence
 * turns (turns.ts) still interleave a queued request with the holders. A `shared` profile is
 * unchanged: one copy, `maxParallel` leases. Order and accounting, not timing.
 */
import { describe, expect, it } from "vitest";
import { ManifestSchema, describeZodIssues } from "../../core/registry/manifest-schema.ts";
import { cpuReplicaBudget, replicaCount } from "../../core/scheduler/replicas.ts";
import type { Lease } from "../../core/scheduler/lease.ts";
import { ManualClock, flush } from "../helpers/clock.ts";
import { FakeCatalog, FakeLoader, makeScheduler, manifest } from "./helpers.ts";

const wasm = manifest("wasm", [{ name: "cpu", device: "cpu", ramMb: 100, loadSeconds: 0, maxParallel: 4, parallelism: "replicas" }]);
const shared = manifest("shared", [{ name: "cpu", device: "cpu", ramMb: 100, loadSeconds: 0, maxParallel: 3 }]);

function setup(cpuReplicas: number | undefined, cpuRamMb = 16000, extra: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const loader = new FakeLoader(clock);
  const s = makeScheduler({ catalog: new FakeCatalog([wasm, shared]), clock, loader, cpuReplicas, config: { devices: { cpuRamMb }, ...extra } });
  /** Starts a request; `lease` is set once granted. */
  const ask = (engineId: string) => {
    const r: { lease?: Lease; error?: Error } = {};
    s.acquire({ engineId, fallback: false }).then(
      (l) => (r.lease = l),
      (e: Error) => (r.error = e),
    );
    return r;
  };
  const settle = async () => {
    for (let i = 0; i < 5; i++) await clock.advance(10);
    await flush();
  };
  return { s, loader, ask, settle };
}

describe("replicas in the scheduler", () => {
  it("the core budget: auto is the cores minus one for the event loop, at least 1; a number is taken as it is", () => {
    expect(cpuReplicaBudget("auto", 2)).toBe(1);
    expect(cpuReplicaBudget("auto", 1)).toBe(1);
    expect(cpuReplicaBudget("auto", 8)).toBe(7);
    expect(cpuReplicaBudget(2, 2)).toBe(2);
    expect(replicaCount(wasm.resources.profiles[0]!, 7)).toBe(4); // at most maxParallel
    expect(replicaCount(wasm.resources.profiles[0]!, 2)).toBe(2);
    expect(replicaCount(shared.resources.profiles[0]!, 7)).toBe(1);
  });

  it("the manifest: shared by default; replicas on a GPU profile is an error naming the field", () => {
    expect(shared.resources.profiles[0]!.parallelism).toBe("shared");
    const bad = ManifestSchema.safeParse({
      id: "x",
      name: "x",
      version: "1.0.0",
      entry: "i.ts",
      resources: { profiles: [{ name: "gpu", device: "cuda", parallelism: "replicas" }] },
    });
    expect(bad.success).toBe(false);
    expect(describeZodIssues(bad.error!)).toEqual(['resources.profiles.0.parallelism: "replicas" is for CPU profiles (this one runs on cuda)']);
  });

  it("budget 2: two copies loaded, 2 x ramMb booked, two leases at once, the third waits for a slot", async () => {
    const { s, loader, ask, settle } = setup(2);
    const a = ask("wasm");
    const b = ask("wasm");
    const c = ask("wasm");
    await settle();
    expect(loader.loads).toEqual([expect.objectContaining({ key: "wasm:cpu", replicas: 2 })]);
    expect(a.lease && b.lease).toBeTruthy();
    expect(c.lease).toBeUndefined();
    const snap = s.snapshot();
    expect(snap.engines).toEqual([expect.objectContaining({ engine: "wasm", replicas: 2, ramMb: 200, inFlight: 2, queued: 1 })]);
    expect(snap.devices.find((d) => d.id === "cpu")!.holdings).toEqual([expect.objectContaining({ engine: "wasm", residentMb: 200 })]);
    expect(snap.decisions).toContainEqual(expect.objectContaining({ action: "load", detail: expect.stringContaining("200 MB RAM (2 replicas x 100 MB)") }));
    a.lease!.release();
    await settle();
    expect(c.lease?.engineId).toBe("wasm");
    b.lease!.release();
    c.lease!.release();
    await s.close();
  });

  it("budget 1 (a 2-core machine's auto): one copy, ramMb booked once, the calls serialise", async () => {
    const { s, loader, ask, settle } = setup(1);
    const a = ask("wasm");
    const b = ask("wasm");
    await settle();
    expect(loader.loads).toEqual([expect.objectContaining({ replicas: 1 })]);
    expect(a.lease).toBeTruthy();
    expect(b.lease).toBeUndefined();
    expect(s.snapshot().engines).toEqual([expect.objectContaining({ replicas: 1, ramMb: 100 })]);
    a.lease!.release();
    await settle();
    expect(b.lease).toBeTruthy();
    b.lease!.release();
    await s.close();
  });

  it("a shared profile is not replicated: one copy serves maxParallel leases", async () => {
    const { s, loader, ask, settle } = setup(4);
    const asks = [ask("shared"), ask("shared"), ask("shared"), ask("shared")];
    await settle();
    expect(loader.loads).toEqual([expect.objectContaining({ replicas: 1 })]);
    expect(asks.map((r) => r.lease !== undefined)).toEqual([true, true, true, false]);
    expect(s.snapshot().engines).toEqual([expect.objectContaining({ replicas: 1, ramMb: 100 })]);
    for (const r of asks.slice(0, 3)) r.lease!.release();
    await settle();
    asks[3]!.lease!.release();
    await s.close();
  });

  it("RAM for one copy but not two: one copy loads (as without replicas), booked once", async () => {
    const { s, loader, ask, settle } = setup(2, 150);
    const a = ask("wasm");
    const b = ask("wasm");
    await settle();
    expect(a.error).toBeUndefined();
    expect(a.lease?.engineId).toBe("wasm");
    expect(b.lease).toBeUndefined(); // one copy: one lease
    expect(loader.loads).toEqual([expect.objectContaining({ key: "wasm:cpu", replicas: 1 })]);
    expect(s.snapshot().engines).toEqual([expect.objectContaining({ engine: "wasm", replicas: 1, ramMb: 100 })]);
    a.lease!.release();
    await settle();
    expect(b.lease).toBeTruthy();
    b.lease!.release();
    await s.close();
  });

  it("extra copies never evict another engine: with an idle engine holding the rest, as many copies load as fit beside it", async () => {
    const { s, loader, ask, settle } = setup(3, 350);
    const other = ask("shared");
    await settle();
    other.lease!.release();
    await settle();
    const a = ask("wasm");
    await settle();
    expect(a.lease?.engineId).toBe("wasm");
    expect(loader.unloads).toEqual([]); // "shared" (100 MB) stays resident
    expect(loader.loads.at(-1)).toEqual(expect.objectContaining({ key: "wasm:cpu", replicas: 2 }));
    expect(s.snapshot().engines.map((e) => [e.engine, e.replicas, e.ramMb])).toEqual(
      expect.arrayContaining([
        ["shared", 1, 100],
        ["wasm", 2, 200],
      ]),
    );
    a.lease!.release();
    await s.close();
  });

  it("RAM for not even one copy is refused, naming one copy's need", async () => {
    const { s, ask, settle } = setup(2, 80);
    const a = ask("wasm");
    await settle();
    expect(a.lease).toBeUndefined();
    expect(a.error?.message).toMatch(/wasm:cpu needs 100 MB on cpu; 80 MB free/);
    await s.close();
  });

  it("a copy that gave up retires the instance: its running leases finish, no new one is granted, the next request loads a fresh instance", async () => {
    const { s, loader, ask, settle } = setup(2);
    const a = ask("wasm");
    const b = ask("wasm");
    await settle();
    loader.degrades.get("wasm:cpu")!("replica 1 of 2 gave up restarting (exit code 137)");
    await settle();
    expect(s.snapshot().engines).toEqual([expect.objectContaining({ engine: "wasm", retiring: "replica_gave_up", inFlight: 2 })]);
    const gaveUp = () => s.snapshot().decisions.filter((d) => d.reason === "replica_gave_up");
    expect(gaveUp()).toEqual([]); // retiring, not unloaded: its unload is recorded when it happens
    a.lease!.release(); // a slot is free, but not on the retiring instance
    const c = ask("wasm");
    await settle();
    expect(loader.unloads).toEqual([]); // b still runs on it
    b.lease!.release();
    await settle();
    expect(loader.unloads).toEqual(["wasm:cpu"]);
    // one unload record, saying which copy gave up
    expect(gaveUp()).toEqual([expect.objectContaining({ action: "unload", engine: "wasm", detail: expect.stringContaining("replica 1 of 2") })]);
    expect(c.lease?.engineId).toBe("wasm");
    expect(loader.loads).toHaveLength(2); // a fresh instance with all its copies
    expect(s.snapshot().engines).toEqual([expect.objectContaining({ engine: "wasm", replicas: 2, retiring: null })]);
    c.lease!.release();
    await s.close();
  });

  it("a copy that gave up on an idle instance: unloaded at once, recorded once", async () => {
    const { s, loader, ask, settle } = setup(2);
    const a = ask("wasm");
    await settle();
    a.lease!.release();
    await settle();
    loader.degrades.get("wasm:cpu")!("replica 2 of 2 gave up restarting (exit code 1)");
    await settle();
    expect(loader.unloads).toEqual(["wasm:cpu"]);
    expect(s.snapshot().decisions.filter((d) => d.reason === "replica_gave_up")).toEqual([
      expect.objectContaining({ action: "unload", engine: "wasm", detail: "replica 2 of 2 gave up restarting (exit code 1)" }),
    ]);
    await s.close();
  });

  it("keepAlive 0: the instance unloads once its last copy's lease ends, and its RAM for every copy leaves the books", async () => {
    const { s, loader, ask, settle } = setup(2, 16000, { keepAliveSeconds: 0 });
    const a = ask("wasm");
    const b = ask("wasm");
    await settle();
    a.lease!.release();
    await settle();
    expect(loader.unloads).toEqual([]); // b still holds a copy
    b.lease!.release();
    await settle();
    expect(loader.unloads).toEqual(["wasm:cpu"]);
    expect(s.snapshot().engines).toEqual([]);
    expect(s.snapshot().devices.find((d) => d.id === "cpu")!.holdings).toEqual([]);
    await s.close();
  });

  it("sentence turns still hold with two copies: a queued request takes a holder's slot between its sentences", async () => {
    const { s, ask, settle } = setup(2);
    const long1 = ask("wasm");
    const long2 = ask("wasm");
    await settle();
    const short = ask("wasm");
    await settle();
    expect(short.lease).toBeUndefined(); // both slots held
    const order: string[] = [];
    const back = long1.lease!.yieldTurn!().then(() => order.push("long1 back"));
    await settle();
    expect(short.lease).toBeTruthy(); // after one sentence of long1, not after all of it
    order.push("short runs");
    await long2.lease!.yieldTurn!(); // nobody else waits: long2 keeps its slot
    order.push("long2 kept its slot");
    short.lease!.release();
    await back;
    expect(order).toEqual(["short runs", "long2 kept its slot", "long1 back"]);
    expect(s.snapshot().engines[0]!.inFlight).toBe(2);
    long1.lease!.release();
    long2.lease!.release();
    await s.close();
  });
});
