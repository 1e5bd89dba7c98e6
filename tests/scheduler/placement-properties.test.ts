/**
 * The placement ladder (core/scheduler/placement.ts `decide`, a pure function of the state)
 * under seeded random states (fast-check, a few seconds): tiny 2/4 GB cards, a desktop or an LLM
 * holding most of a card or, after it grew since Chorus placed its engines, more than the card
 * has free, engines loaded, loading, busy, pinned, a training lease blocking a card.
 * Invariants: it never throws; a load (after its evictions) fits the device's free VRAM and RAM
 * as read now and the loaded-engine limit; it never loads onto a blocked card; it evicts only
 * idle, ready engines that are not pinned; a lease goes to a usable instance with room; a
 * refusal says why.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PlacementProfile } from "../../packages/sdk/src/index.ts";
import type { Candidate } from "../../core/scheduler/chain.ts";
import type { Device } from "../../core/scheduler/devices.ts";
import { freeMb, heldOn, loadNeed } from "../../core/scheduler/fit.ts";
import { decide, type PlacementView } from "../../core/scheduler/placement.ts";
import { capacity } from "../../core/scheduler/replicas.ts";
import type { Instance } from "../../core/scheduler/types.ts";

const SEED = 20261201;
const RUNS = 1500;

const profile = (name: string, device: "cpu" | "cuda") =>
  fc.record({
    name: fc.constant(name),
    device: fc.constant(device),
    precision: fc.constant("fp32" as const),
    vramMb: device === "cuda" ? fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 9000 })) : fc.constant(0),
    transientVramMb: device === "cuda" ? fc.integer({ min: 0, max: 2500 }) : fc.constant(0),
    ramMb: fc.integer({ min: 0, max: 5000 }),
    loadSeconds: fc.double({ min: 0, max: 30, noNaN: true }),
    maxParallel: fc.integer({ min: 1, max: 4 }),
    parallelism: fc.constant("shared" as const),
  }) as fc.Arbitrary<PlacementProfile>;

/** An engine: a GPU profile, a CPU profile, or both (GPU first, as manifests order them). */
const engine = fc.oneof(
  fc.tuple(profile("gpu", "cuda"), profile("cpu", "cpu")).map(([g, c]) => [g, c]),
  profile("gpu", "cuda").map((g) => [g]),
  profile("cpu", "cpu").map((c) => [c]),
);

const gpuDevice = (index: number) =>
  fc
    .record({
      totalMb: fc.oneof(fc.constantFrom(2048, 4096, 8192, 12288, 24576), fc.integer({ min: 0, max: 49152 })),
      // others as a share of the card: none, a desktop, an LLM holding most of it, grown past it
      othersShare: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.5, noNaN: true }), fc.double({ min: 0, max: 1.3, noNaN: true })),
      reserveMb: fc.constantFrom(0, 256, 512),
    })
    .map(
      ({ totalMb, othersShare, reserveMb }): Device => ({
        id: `cuda:${index}`,
        kind: "cuda",
        index,
        name: "Sim",
        totalMb,
        othersMb: Math.round(totalMb * othersShare),
        reserveMb,
        simulated: true,
        lastFreeMb: 0,
        readAt: 0,
      }),
    );

const loaded = fc.record({
  engine: fc.nat(),
  profile: fc.nat(),
  gpu: fc.nat(),
  state: fc.constantFrom<("ready" | "loading" | "unloading")[]>("ready", "ready", "ready", "loading", "unloading"),
  inFlight: fc.integer({ min: 0, max: 3 }),
  idleMs: fc.integer({ min: 0, max: 600_000 }),
  retiring: fc.boolean(),
  stale: fc.boolean(),
});

const state = fc
  .record({
    ramMb: fc.oneof(fc.integer({ min: 4000, max: 32000 }), fc.integer({ min: 0, max: 32000 })),
    gpus: fc.oneof(fc.array(fc.nat(), { minLength: 1, maxLength: 2 }), fc.constant<number[]>([])),
    engines: fc.array(engine, { minLength: 1, maxLength: 5 }),
    loaded: fc.array(loaded, { maxLength: 6 }),
    requested: fc.nat(),
    fallbacks: fc.array(fc.nat(), { maxLength: 2 }),
    pinned: fc.array(fc.nat(), { maxLength: 2 }),
    blocked: fc.option(fc.nat(), { nil: undefined }),
    loadBusy: fc.constantFrom(false, false, false, true),
    maxLoaded: fc.integer({ min: 1, max: 6 }),
  })
  .chain((r) => fc.tuple(fc.constant(r), fc.tuple(...r.gpus.map((_, i) => gpuDevice(i)))));

type Raw = typeof state extends fc.Arbitrary<infer T> ? T : never;

function build([r, gpus]: Raw) {
  const now = 1_000_000;
  const cpu: Device = {
    id: "cpu",
    kind: "cpu",
    index: -1,
    name: "CPU RAM",
    totalMb: r.ramMb,
    othersMb: 0,
    reserveMb: 0,
    simulated: false,
    lastFreeMb: r.ramMb,
    readAt: 0,
  };
  const devices = [cpu, ...gpus];
  const engines = r.engines as PlacementProfile[][];
  const ids = engines.map((_, i) => `e${i}`);
  const pinned = new Set<string>(r.pinned.map((n) => ids[n % ids.length]!));
  const blocked = r.blocked !== undefined && gpus.length ? gpus[r.blocked % gpus.length]!.id : undefined;
  const instances: Instance[] = [];
  const seen = new Set<string>();
  r.loaded.forEach(
    (
      l: { engine: number; profile: number; gpu: number; state: Instance["state"]; inFlight: number; idleMs: number; retiring: boolean; stale: boolean },
      k: number,
    ) => {
      const e = l.engine % engines.length;
      const spec = engines[e]![l.profile % engines[e]!.length]!;
      if (spec.device === "cuda" && !gpus.length) return;
      const gpu = spec.device === "cuda" ? gpus[l.gpu % gpus.length]!.id : undefined;
      const key = `${ids[e]}:${spec.name}`;
      if (seen.has(key)) return; // one instance per engine profile
      seen.add(key);
      const inFlight = l.state === "ready" ? l.inFlight : 0;
      instances.push({
        id: k + 1,
        key,
        engineId: ids[e]!,
        profile: spec.name,
        gpu,
        vramMb: spec.vramMb,
        tokensMb: inFlight * spec.transientVramMb,
        ramMb: spec.ramMb,
        spec,
        generation: l.stale ? 0 : 1,
        state: l.state,
        inFlight,
        lastUsed: now - l.idleMs,
        loadedAt: 0,
        device: { kind: spec.device, index: gpu ? Number(gpu.split(":")[1]) : 0, simulated: true },
        ...(l.retiring ? { retiring: "training_lease" as const } : {}),
      });
    },
  );
  const req = r.requested % engines.length;
  const chain: Candidate[] = [];
  for (const e of [req, ...r.fallbacks.map((f) => f % engines.length).filter((f) => f !== req)])
    for (const p of engines[e]!)
      if (!chain.some((c) => c.key === `${ids[e]}:${p.name}`)) chain.push({ engineId: ids[e]!, profile: p, key: `${ids[e]}:${p.name}`, own: e === req });
  const view: PlacementView = {
    now,
    devices,
    instances,
    loadBusy: r.loadBusy,
    maxLoaded: r.maxLoaded,
    pinned: (id) => pinned.has(id),
    cooldownMs: () => 0,
    generation: () => 1,
    loadNeed: (c) => loadNeed(c.profile, c.profile.vramMb),
    blocked: (id) => (id === blocked ? `${id} is held for fine-tune job J (9000 MB) until it ends` : undefined),
  };
  return { view, chain, blocked, pinned };
}

describe("placement: properties", () => {
  it("never throws; a load fits what is free now (after its evictions); never onto a blocked card; only idle, unpinned victims", () => {
    const kinds = new Map<string, number>();
    fc.assert(
      fc.property(state, (s) => {
        const { view, chain, blocked, pinned } = build(s);
        const p = decide(chain, view);
        const kind = p.kind === "load" ? `load:${p.gpu ? "gpu" : "cpu"}` : p.kind;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        if (p.kind === "refuse") expect(p.message.length).toBeGreaterThan(0);
        if (p.kind === "lease") {
          expect(p.instance.state).toBe("ready");
          expect(p.instance.retiring).toBeUndefined();
          expect(p.instance.generation).toBe(1);
          expect(p.instance.inFlight).toBeLessThan(capacity(p.instance));
          if (p.instance.gpu && p.instance.spec.transientVramMb > 0) {
            const gpu = view.devices.find((d) => d.id === p.instance.gpu)!;
            expect(p.instance.spec.transientVramMb).toBeLessThanOrEqual(freeMb(gpu, heldOn(gpu, view.instances)));
          }
        }
        if (p.kind === "load" || p.kind === "evict") {
          for (const v of p.victims) {
            expect(v.state).toBe("ready");
            expect(v.inFlight).toBe(0);
            if (pinned.has(v.engineId))
              expect(v.generation !== 1 || v.retiring !== undefined, "a pinned engine is evicted only when stale or retiring").toBe(true);
          }
        }
        if (p.kind === "load") {
          expect(view.loadBusy).toBe(false);
          const rest = view.instances.filter((i) => !p.victims.includes(i));
          const need = view.loadNeed(p.candidate, 1);
          if (p.candidate.profile.device === "cuda") {
            expect(p.gpu, "a GPU profile loads onto a GPU").toBeDefined();
            expect(p.gpu!.id).not.toBe(blocked);
            expect(need.gpuMb, `on ${p.gpu!.id}`).toBeLessThanOrEqual(freeMb(p.gpu!, heldOn(p.gpu!, rest)));
          } else expect(p.gpu).toBeUndefined();
          const cpu = view.devices[0]!;
          expect(need.ramMb).toBeLessThanOrEqual(freeMb(cpu, heldOn(cpu, rest)));
          expect(rest.filter((i) => i.state !== "unloading").length).toBeLessThan(view.maxLoaded);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // the generator reaches every rung of the ladder
    for (const k of ["lease", "load:gpu", "load:cpu", "evict", "wait", "refuse"]) expect(kinds.get(k) ?? 0, k).toBeGreaterThan(0);
  });
});
