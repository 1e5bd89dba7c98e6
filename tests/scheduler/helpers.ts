/** Fakes for the scheduler's seams: catalogue, loader, GPU probe; a ManualClock drives time. */
import pino from "pino";
import { SchedulerSchema } from "../../core/config/schema.ts";
import { sleep, type Clock } from "../../core/scheduler/clock.ts";
import { Scheduler } from "../../core/scheduler/scheduler.ts";
import type { GpuProbe, ProbeResult } from "../../core/scheduler/devices.ts";
import type { EngineCatalog, EngineLoader, LoadedEngine } from "../../core/scheduler/types.ts";
import { OutOfMemoryError } from "../../packages/sdk/src/index.ts";
import type { DeviceInfo, Manifest, PlacementProfile } from "../../packages/sdk/src/index.ts";
import { ManifestSchema, type ManifestInput } from "../../core/registry/manifest-schema.ts";

type ProfileInput = NonNullable<ManifestInput["resources"]>["profiles"][number];

export function manifest(id: string, profiles: ProfileInput[], fallbacks: string[] = []): Manifest {
  return ManifestSchema.parse({ id, name: id, version: "1.0.0", entry: "index.ts", resources: { profiles, fallbacks } });
}

export class FakeCatalog implements EngineCatalog {
  private readonly entries = new Map<string, { manifest: Manifest; generation: number }>();
  constructor(manifests: Manifest[]) {
    for (const m of manifests) this.entries.set(m.id, { manifest: m, generation: 1 });
  }
  manifest(id: string) {
    return this.entries.get(id)?.manifest;
  }
  get(id: string) {
    const e = this.entries.get(id);
    return e && { generation: e.generation, status: "available" };
  }
  /** A plugin update: the next generation of the engine. */
  bump(id: string) {
    this.entries.get(id)!.generation++;
  }
}

export type Misbehaviour = "oom" | "fail";

export class FakeLoader implements EngineLoader {
  readonly loads: { key: string; simulated: boolean; at: number; replicas?: number }[] = [];
  readonly unloads: string[] = [];
  /** `engine:profile` -> what its load does. */
  readonly misbehave = new Map<string, Misbehaviour>();
  readonly exits = new Map<string, (code: number | null) => void>();
  /** `engine:profile` -> the instance's "a copy gave up" listener (replicas). */
  readonly degrades = new Map<string, (reason: string) => void>();
  constructor(private readonly clock: Clock) {}

  async load(engineId: string, profile: PlacementProfile, options: { device: DeviceInfo; replicas?: number }): Promise<LoadedEngine> {
    const key = `${engineId}:${profile.name}`;
    this.loads.push({ key, simulated: options.device.simulated, at: this.clock.now(), replicas: options.replicas });
    await sleep(this.clock, profile.loadSeconds * 1000);
    const bad = this.misbehave.get(key);
    if (bad === "oom") throw new OutOfMemoryError("CUDA out of memory", { neededMb: profile.vramMb * 2 });
    if (bad === "fail") throw new Error("model file missing");
    return {
      listVoices: async () => [{ id: "v", name: "v", languages: ["en"] }],
      health: async () => ({ ok: true }),
      async *synthesize() {
        yield { sampleRate: 16000, samples: new Int16Array(10) };
      },
      async *synthesizeMore() {
        yield { sampleRate: 16000, samples: new Int16Array(10) };
      },
      unload: async () => void this.unloads.push(key),
      terminate: async () => {},
      onExit: (listener) => void this.exits.set(key, listener),
      onDegraded: (listener) => void this.degrades.set(key, listener),
    };
  }
}

/** A "real" GPU whose readings the test controls (for learned footprints and release polling). */
export class FakeProbe implements GpuProbe {
  reads = 0;
  constructor(public result: ProbeResult) {}
  async read(): Promise<ProbeResult> {
    this.reads++;
    return structuredClone(this.result);
  }
}

export const silent = pino({ level: "silent" });

export function makeScheduler(options: {
  config?: Record<string, unknown>;
  catalog: EngineCatalog;
  clock: Clock;
  loader?: EngineLoader;
  probe?: GpuProbe;
  /** The replicas' core budget (`engines.cpuReplicas` resolved); the scheduler's default 1 without. */
  cpuReplicas?: number;
}) {
  const config = SchedulerSchema.parse({
    reserveMb: 0,
    reservePercent: 0,
    ...options.config,
    devices: { cpuRamMb: 16000, gpus: "off", ...(options.config?.devices as object) },
  });
  const loader = options.loader ?? new FakeLoader(options.clock);
  const probe = options.probe ?? { read: async () => ({ ok: false as const, reason: "no GPU in tests" }) };
  return new Scheduler({ config, catalog: options.catalog, loader, probe, clock: options.clock, log: silent, cpuReplicas: options.cpuReplicas });
}

/** One simulated GPU of `totalMb` with `othersMb` held by other processes. */
export const gpu = (totalMb: number, othersMb = 0) => ({ devices: { simulated: [{ name: "Sim", totalMb, heldByOthersMb: othersMb }] } });
