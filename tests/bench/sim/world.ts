/**
 * The simulated world of the benchmark: one GPU whose memory is really accounted (others,
 * engines, per-request memory), engines with declared load times and synthesis speeds, and a
 * loader that fails with OutOfMemoryError exactly when the memory is not there.
 */
import { sleep } from "../../../core/scheduler/clock.ts";
import type { ManualClock } from "../../helpers/clock.ts";
import type { GpuProbe } from "../../../core/scheduler/devices.ts";
import type { EngineCatalog, EngineLoader, LoadedEngine } from "../../../core/scheduler/types.ts";
import { OutOfMemoryError } from "../../../packages/sdk/src/index.ts";
import type { Manifest, PlacementProfile } from "../../../packages/sdk/src/index.ts";
import { ManifestSchema } from "../../../core/registry/manifest-schema.ts";

/** Characters per second a profile synthesises, plus a fixed cost per request (seconds). */
export interface Speed {
  cps: number;
  overhead: number;
}

export interface SimEngine {
  manifest: Manifest;
  speed: Record<string, Speed>;
}

type P = {
  name: string;
  device: "cpu" | "cuda";
  vramMb?: number;
  transientVramMb?: number;
  ramMb?: number;
  loadSeconds: number;
  cps: number;
  overhead?: number;
};

function engine(id: string, profiles: P[], fallbacks: string[] = []): SimEngine {
  const manifest = ManifestSchema.parse({
    id,
    name: id,
    version: "1.0.0",
    entry: "index.ts",
    resources: { profiles: profiles.map(({ cps: _c, overhead: _o, ...p }) => p), fallbacks },
  });
  return { manifest, speed: Object.fromEntries(profiles.map((p) => [p.name, { cps: p.cps, overhead: p.overhead ?? 0.05 }])) };
}

/** XTTS-like (2-4 GB), a mid engine (~1.5 GB), Piper-like (0.1-0.3 GB), eSpeak-like (CPU). */
export const SIM_ENGINES: SimEngine[] = [
  engine(
    "xtts",
    [
      { name: "gpu-fp16", device: "cuda", vramMb: 3000, ramMb: 600, loadSeconds: 8, cps: 160 },
      { name: "lowvram", device: "cuda", vramMb: 0, transientVramMb: 1600, ramMb: 2600, loadSeconds: 9, cps: 110, overhead: 1.5 },
      { name: "cpu", device: "cpu", ramMb: 2600, loadSeconds: 7, cps: 14 },
    ],
    ["piper"],
  ),
  engine(
    "mid",
    [
      { name: "gpu", device: "cuda", vramMb: 1500, ramMb: 300, loadSeconds: 4, cps: 300 },
      { name: "cpu", device: "cpu", ramMb: 1200, loadSeconds: 3, cps: 45 },
    ],
    ["piper"],
  ),
  engine("piper", [
    { name: "gpu", device: "cuda", vramMb: 250, ramMb: 100, loadSeconds: 0.8, cps: 2500 },
    { name: "cpu", device: "cpu", ramMb: 150, loadSeconds: 0.5, cps: 900 },
  ]),
  engine("espeak", [{ name: "cpu", device: "cpu", ramMb: 64, loadSeconds: 0.3, cps: 3000 }]),
];

export function simCatalog(engines: SimEngine[]): EngineCatalog {
  const byId = new Map(engines.map((e) => [e.manifest.id, e.manifest]));
  return { manifest: (id) => byId.get(id), get: (id) => (byId.has(id) ? { generation: 1, status: "available" } : undefined) };
}

/** Memory as the (simulated) driver sees it. */
export class SimGpu {
  usedByEngines = 0;
  constructor(
    readonly totalMb: number,
    /** Held by other processes; changes over time in the desktop-LLM workload. */
    public othersMb: number,
  ) {}
  get freeMb(): number {
    return this.totalMb - this.othersMb - this.usedByEngines;
  }
  /** Takes memory, or throws the CUDA-style error a real engine would. */
  take(mb: number, what: string): void {
    // Nothing to allocate cannot fail, even when others have overfilled the card.
    if (mb > 0 && mb > this.freeMb) throw new OutOfMemoryError(`CUDA out of memory: ${what} needs ${mb} MB, ${this.freeMb} MB free`, { neededMb: mb });
    this.usedByEngines += mb;
  }
  give(mb: number): void {
    this.usedByEngines -= mb;
  }
}

/** nvidia-smi as seen on the simulated card (used where others' memory changes over time). */
export function simProbe(gpu: SimGpu): GpuProbe {
  return {
    read: async () => ({
      ok: true,
      gpus: [{ index: 0, uuid: "GPU-sim", name: "simulated", totalMb: gpu.totalMb, usedMb: gpu.othersMb + gpu.usedByEngines, freeMb: gpu.freeMb }],
    }),
  };
}

export interface SimStats {
  ooms: number;
  loads: number;
  unloads: number;
}

/** Time to synthesise `chars` characters on a profile, seconds. */
export function synthSeconds(engines: SimEngine[], engineId: string, profile: string, chars: number): number {
  const s = engines.find((e) => e.manifest.id === engineId)!.speed[profile]!;
  return s.overhead + chars / s.cps;
}

/** A loader whose engines take simulated time and simulated memory. */
export class SimLoader implements EngineLoader {
  readonly stats: SimStats = { ooms: 0, loads: 0, unloads: 0 };
  constructor(
    private readonly clock: ManualClock,
    private readonly gpu: SimGpu,
    private readonly engines: SimEngine[],
  ) {}

  async load(engineId: string, profile: PlacementProfile): Promise<LoadedEngine> {
    this.stats.loads++;
    await sleep(this.clock, profile.loadSeconds * 1000);
    const resident = profile.device === "cuda" ? profile.vramMb : 0;
    try {
      this.gpu.take(resident, `${engineId}:${profile.name}`);
    } catch (err) {
      this.stats.ooms++;
      throw err;
    }
    let alive = true;
    const free = () => {
      if (alive) this.gpu.give(resident);
      alive = false;
    };
    const { clock, gpu, engines, stats } = this;
    // Like a protocol engine, it reports the memory it holds (protocol `memory`) as it works.
    const memoryListeners: ((r: { vramMb?: number }) => void)[] = [];
    const report = () => {
      if (profile.device === "cuda") for (const l of memoryListeners) l({ vramMb: resident });
    };
    const engine: LoadedEngine = {
      onMemory: (listener) => void memoryListeners.push(listener),
      listVoices: async () => [{ id: "default", name: "default", languages: ["en"] }],
      health: async () => ({ ok: alive }),
      // The texts of one turn as one text (the simulator times a request by its characters).
      synthesizeMore: (request, more, signal) => engine.synthesize({ ...request, text: [request.text, ...more].join(" ") }, signal),
      async *synthesize(request) {
        report();
        const transient = profile.device === "cuda" ? profile.transientVramMb : 0;
        try {
          gpu.take(transient, `${engineId}:${profile.name} request`);
        } catch (err) {
          stats.ooms++;
          throw err;
        }
        try {
          await sleep(clock, synthSeconds(engines, engineId, profile.name, request.text.length) * 1000);
          yield { sampleRate: 22050, samples: new Int16Array(1) };
        } finally {
          gpu.give(transient);
        }
      },
      unload: async () => {
        stats.unloads++;
        free();
      },
      terminate: async () => free(),
      onExit: () => {},
    };
    return engine;
  }
}
