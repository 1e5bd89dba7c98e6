/**
 * What engines were shown to need, as opposed to what their manifests declare: the resident
 * VRAM learned per `engine:profile` (measured after a load on a real GPU, reported by the
 * engine, or raised after an out-of-memory), and per engine the VRAM it needed at its peak
 * when it ran out of memory while synthesising, and the RAM an `engine:profile` held when the
 * host stopped it past its RAM limit (ram-needs.ts). Placement reads them (`of`, `peakNeedMb`,
 * `ramNeedMb`); every out-of-memory record is made here.
 */
import type { Candidate } from "./chain.ts";
import type { RecordDecision } from "./decisions.ts";
import type { Device } from "./devices.ts";
import { boundLearned, footprint, loadNeed } from "./fit.ts";
import type { InstanceTable } from "./instances.ts";
import type { SchedulerMetrics } from "./metrics.ts";
import { RamNeeds } from "./ram-needs.ts";
import type { Instance } from "./types.ts";

type Profiled = Pick<Candidate, "key" | "profile">;

export class Footprints {
  /** Raised or measured resident VRAM per `engine:profile`. */
  private readonly learned = new Map<string, number>();
  /**
   * Per engine: the VRAM it was shown to need at its peak, recorded when it ran out of memory
   * while synthesising (more than it had, or what the engine said it needed). Every GPU profile
   * of that engine must then fit this much, so the retry is not another profile on the same card.
   */
  private readonly peakNeeds = new Map<string, number>();
  /** Per `engine:profile`: the RAM it held when the host stopped it past its limit (ram-needs.ts). */
  private readonly ramNeeds = new RamNeeds();

  constructor(
    private readonly deps: {
      table: InstanceTable;
      metrics: SchedulerMetrics;
      record: RecordDecision;
      generation(engineId: string): number | undefined;
    },
  ) {}

  /** RAM to book for a candidate: declared (or what one copy held when stopped past its RAM limit), times `copies`. */
  ramNeedMb(c: Pick<Candidate, "key" | "engineId" | "profile">, copies = 1): number {
    return this.ramNeeds.need(c.key, this.deps.generation(c.engineId), c.profile) * copies;
  }

  /** Resident VRAM to account for a candidate: learned, else declared. */
  of(c: Profiled): number {
    return footprint(c.profile, this.learned.get(c.key));
  }

  peakNeedMb(engineId: string): number | undefined {
    return this.peakNeeds.get(engineId);
  }

  /** What loading `c` in `copies` needs now (a GPU profile at least the engine's recorded peak). */
  loadNeed(c: Candidate, copies = 1): { gpuMb: number; ramMb: number } {
    const need = { ...loadNeed(c.profile, this.of(c)), ramMb: this.ramNeedMb(c, copies) };
    if (c.profile.device === "cuda") need.gpuMb = Math.max(need.gpuMb, this.peakNeeds.get(c.engineId) ?? 0);
    return need;
  }

  /** A load ran out of memory: the profile's resident need is raised (to what the engine said, or by a quarter). */
  afterLoadOom(c: Profiled, neededMb: number | undefined, current: number): void {
    if (c.profile.device !== "cuda") return;
    const total = neededMb ?? Math.round((current + c.profile.transientVramMb) * 1.25);
    const vram = Math.max(current, Math.round(total - c.profile.transientVramMb), current + 1);
    this.learned.set(c.key, vram);
  }

  /**
   * A lease's engine ran out of memory while synthesising: its peak is recorded, its profile's
   * need raised, and the instance retires (it unloads once drained). Returns the key to avoid.
   */
  afterSynthesisOom(inst: Instance, neededMb: number | undefined): string {
    const peak = this.recordPeak(inst, neededMb);
    this.afterLoadOom({ key: inst.key, profile: inst.spec }, neededMb, inst.vramMb);
    inst.retiring = "oom_synthesis";
    this.deps.metrics.ooms.inc({ engine: inst.engineId, profile: inst.profile, phase: "synthesis" });
    const detail = `needs ${this.learned.get(inst.key) ?? inst.vramMb} MB resident now${peak ? `, ${peak} MB of VRAM at its peak (any GPU profile must fit that)` : ""}; re-placing down the chain`;
    this.deps.record("oom", "oom_synthesis", { engine: inst.engineId, profile: inst.profile, device: inst.gpu ?? "cpu", detail }, "warn");
    return inst.key;
  }

  /** The host stopped `inst` past its RAM limit: its next placement is booked with what it held (ram-needs.ts). */
  afterRamLimit(inst: Instance, neededMb: number | undefined): string {
    const mb = this.ramNeeds.record(inst.key, inst.generation, inst.spec, neededMb);
    inst.retiring = "memory_limit";
    this.deps.metrics.ooms.inc({ engine: inst.engineId, profile: inst.profile, phase: "synthesis" });
    this.deps.record(
      "oom",
      "memory_limit",
      {
        engine: inst.engineId,
        profile: inst.profile,
        device: inst.gpu ?? "cpu",
        detail: `held ${Math.round(neededMb ?? mb)} MB of RAM (declared ${inst.spec.ramMb} MB); its next placement books ${mb} MB of RAM${(inst.replicas ?? 1) > 1 ? " per replica" : ""}; re-placing down the chain`,
      },
      "warn",
    );
    return inst.key;
  }

  /** After a load on a real GPU the measured change in used memory replaces the estimate. */
  measuredAtLoad(inst: Instance, gpu: Device, measuredMb: number): void {
    if (measuredMb <= 0) return;
    const bounded = Math.round(boundLearned(inst.spec.vramMb, measuredMb));
    if (Math.abs(bounded - inst.vramMb) < 16) return;
    gpu.othersMb = Math.max(0, gpu.othersMb - (bounded - inst.vramMb));
    this.adopt(inst, gpu, bounded, `measured ${measuredMb} MB`);
  }

  /** The engine's own reading of its GPU memory (protocol `memory`) replaces the estimate. */
  reported(inst: Instance, vramMb: number | undefined): void {
    const gpu = this.deps.table.device(inst.gpu);
    if (!gpu || vramMb === undefined || !(vramMb >= 0) || !this.deps.table.holds(inst)) return;
    const bounded = Math.round(boundLearned(inst.spec.vramMb, vramMb));
    if (Math.abs(bounded - inst.vramMb) < 16) return;
    this.adopt(inst, gpu, bounded, `the engine reports ${vramMb} MB`);
  }

  /** Recorded peaks per engine (GET /api/scheduler). */
  peaks(): Record<string, number> {
    return Object.fromEntries(this.peakNeeds);
  }

  /** Measured RAM needs per `engine:profile` (GET /api/scheduler). */
  ramNeedsList(): Record<string, number> {
    return this.ramNeeds.list();
  }

  private adopt(inst: Instance, gpu: Device, bounded: number, seen: string): void {
    this.deps.record("learn", "learned_footprint", {
      engine: inst.engineId,
      profile: inst.profile,
      device: gpu.id,
      detail: `declared ${inst.spec.vramMb} MB, ${seen}, using ${bounded} MB`,
    });
    inst.vramMb = bounded;
    this.learned.set(inst.key, bounded);
  }

  /**
   * It needed more than it had on its card (what it held plus what was free there), or at
   * least what the engine says it needed. Recorded per engine, as an absolute figure: a card
   * with that much free (or more, once others release memory) is fine again; the same card,
   * with any other profile, is not.
   */
  private recordPeak(inst: Instance, neededMb: number | undefined): number | undefined {
    const gpu = this.deps.table.device(inst.gpu);
    if (!gpu) return undefined;
    const had = inst.vramMb + inst.tokensMb + Math.max(0, this.deps.table.freeOn(gpu));
    const peak = Math.round(Math.max(had + 1, neededMb ?? 0, this.peakNeeds.get(inst.engineId) ?? 0));
    this.peakNeeds.set(inst.engineId, peak);
    return peak;
  }
}
