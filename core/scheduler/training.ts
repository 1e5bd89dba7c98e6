/**
 * Training leases: a fine-tune job asks the scheduler for a whole GPU's worth of memory (the
 * plan's predicted peak). While a lease is pending or held, GPU profiles on that device are not
 * offered (placement.ts asks `blocked()`), so requests are served from CPU profiles or
 * fallbacks with the reason; idle engines on the device are evicted at once, busy ones take no
 * new requests and unload once their running requests finish (nothing is killed mid-request).
 * A lease that can never be had is refused with who holds what. Release gives the device back:
 * the next request moves an engine up to its GPU profile again (placement's "moves up" rule).
 */
import { ChorusError } from "../errors.ts";
import type { RecordDecision } from "./decisions.ts";
import type { Device } from "./devices.ts";
import { heldOn } from "./fit.ts";
import type { Instance } from "./types.ts";

export interface TrainingLeaseRequest {
  /** The fine-tune job's id (shown as the holder). */
  jobId: string;
  /** `auto` (the first GPU), an index, `cuda:N` or part of the card's name. */
  gpu?: string;
  /** Device memory the job needs (the plan's predicted peak plus its margin, which stands in for the scheduler's reserve), MB. */
  memoryMb: number;
  /** How long to wait for busy engines to finish, seconds (default 300). */
  waitSeconds?: number;
  signal?: AbortSignal;
}

export interface TrainingLease {
  readonly jobId: string;
  readonly device: string;
  readonly deviceName: string;
  readonly totalMb: number;
  readonly memoryMb: number;
  readonly simulated: boolean;
  /** Gives the device back; idempotent. */
  release(): void;
}

export interface TrainingHolder {
  job: string;
  device: string;
  memoryMb: number;
  state: "pending" | "held";
  since: string;
}

/** What the scheduler lends the training leases (scheduler.ts wires it). */
export interface TrainingHooks {
  devices(): Device[];
  instances(): Instance[];
  pinned(engineId: string): boolean;
  now(): number;
  refresh(): Promise<void>;
  /** Unloads an idle instance (action evict, reason training_lease). */
  evict(inst: Instance, detail: string): Promise<void>;
  /** Stops new leases on a busy instance; it unloads when drained. */
  retire(inst: Instance): void;
  decision: RecordDecision;
  pump(): void;
}

export function pickGpu(devices: Device[], gpu: string | undefined): Device | undefined {
  const gpus = devices.filter((d) => d.kind === "cuda");
  if (!gpu || gpu === "auto") return gpus[0];
  if (/^\d+$/.test(gpu)) return gpus.find((d) => d.index === Number(gpu));
  return gpus.find((d) => d.id === gpu) ?? gpus.find((d) => d.name.toLowerCase().includes(gpu.toLowerCase()));
}

export class TrainingLeases {
  private readonly holders = new Map<string, TrainingHolder>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly hooks: TrainingHooks) {}

  /** Why GPU profiles on `deviceId` are not offered now (undefined: they are). */
  blocked(deviceId: string): string | undefined {
    const h = [...this.holders.values()].find((x) => x.device === deviceId);
    if (!h) return undefined;
    return `${deviceId} is ${h.state === "held" ? "held" : "being cleared"} for fine-tune job ${h.job} (${h.memoryMb} MB) until it ends`;
  }

  list(): TrainingHolder[] {
    return [...this.holders.values()].map((h) => ({ ...h }));
  }

  /** Called by the scheduler after every change of state. */
  changed(): void {
    for (const l of [...this.listeners]) l();
  }

  async acquire(req: TrainingLeaseRequest): Promise<TrainingLease> {
    await this.hooks.refresh();
    const gpu = pickGpu(this.hooks.devices(), req.gpu);
    const refuse = (message: string, details: Record<string, unknown> = {}) => {
      this.hooks.decision("refuse", "training_refused", { engine: `finetune:${req.jobId}`, device: gpu?.id, detail: message }, "warn");
      return new ChorusError("CHORUS_ERR_TRAINING_LEASE_REFUSED", message, { field: "gpu", details });
    };
    if (!gpu) {
      const have = this.hooks
        .devices()
        .filter((d) => d.kind === "cuda")
        .map((d) => `${d.id} ${d.name}`);
      throw refuse(`no GPU matches '${req.gpu ?? "auto"}' (${have.length ? `have: ${have.join(", ")}` : "the scheduler sees no GPU"})`);
    }
    const other = [...this.holders.values()].find((h) => h.device === gpu.id);
    if (other) throw refuse(`${gpu.id} is already held by fine-tune job ${other.job} (${other.memoryMb} MB)`, { holders: [other] });
    const pinned = this.hooks.instances().filter((i) => i.gpu === gpu.id && this.hooks.pinned(i.engineId) && i.state !== "unloading");
    // The job's memory already carries the planner's margin (predicted peak + 256 MB), so the
    // scheduler's engine reserve is not taken again.
    const capacity = gpu.totalMb - gpu.othersMb - heldOn(gpu, pinned);
    if (req.memoryMb > capacity)
      throw refuse(
        `fine-tune job ${req.jobId} needs ${req.memoryMb} MB on ${gpu.id}; at most ${Math.round(capacity)} MB can be had ${this.holdersText(gpu, pinned)}`,
      );

    const holder: TrainingHolder = {
      job: req.jobId,
      device: gpu.id,
      memoryMb: req.memoryMb,
      state: "pending",
      since: new Date(this.hooks.now()).toISOString(),
    };
    this.holders.set(req.jobId, holder);
    this.hooks.decision("lease", "training_lease", { engine: `finetune:${req.jobId}`, device: gpu.id, detail: `clearing ${gpu.id} for ${req.memoryMb} MB` });
    try {
      await this.clear(gpu, req);
    } catch (err) {
      this.holders.delete(req.jobId);
      this.hooks.pump();
      throw err;
    }
    holder.state = "held";
    this.hooks.decision("lease", "training_lease", {
      engine: `finetune:${req.jobId}`,
      device: gpu.id,
      detail: `held: ${req.memoryMb} MB of ${gpu.totalMb} MB`,
    });
    let released = false;
    return {
      jobId: req.jobId,
      device: gpu.id,
      deviceName: gpu.name,
      totalMb: gpu.totalMb,
      memoryMb: req.memoryMb,
      simulated: gpu.simulated,
      release: () => {
        if (released) return;
        released = true;
        this.holders.delete(req.jobId);
        this.hooks.decision("unload", "training_released", { engine: `finetune:${req.jobId}`, device: gpu.id, detail: `${gpu.id} offered to engines again` });
        this.hooks.pump();
      },
    };
  }

  private holdersText(gpu: Device, pinned: Instance[]): string {
    const parts = [`total ${gpu.totalMb}`, `held by other processes ${Math.round(gpu.othersMb)}`];
    if (pinned.length) parts.push(`pinned engines: ${pinned.map((i) => `${i.key} ${i.vramMb + i.tokensMb} MB`).join(", ")}`);
    return `(${parts.join(", ")})`;
  }

  /** Evicts idle engines on the device, drains busy ones, waits until the memory is there. */
  private async clear(gpu: Device, req: TrainingLeaseRequest): Promise<void> {
    const deadline = this.hooks.now() + (req.waitSeconds ?? 300) * 1000;
    for (;;) {
      if (req.signal?.aborted) throw new ChorusError("CHORUS_ERR_REQUEST_CANCELLED", `fine-tune job ${req.jobId} stopped while waiting for ${gpu.id}`);
      const on = this.hooks.instances().filter((i) => i.gpu === gpu.id && !(this.hooks.pinned(i.engineId) && !i.retiring));
      for (const inst of on) {
        if (inst.state === "ready" && inst.inFlight === 0) void this.hooks.evict(inst, `for fine-tune job ${req.jobId}`);
        else if (inst.state === "ready" && !inst.retiring) this.hooks.retire(inst);
      }
      if (!on.length) {
        await this.hooks.refresh();
        const pinned = this.hooks.instances().filter((i) => i.gpu === gpu.id);
        const free = Math.min(gpu.totalMb - gpu.othersMb - heldOn(gpu, pinned), gpu.simulated ? Infinity : gpu.lastFreeMb);
        if (free >= req.memoryMb) return;
        throw new ChorusError(
          "CHORUS_ERR_TRAINING_LEASE_REFUSED",
          `fine-tune job ${req.jobId} needs ${req.memoryMb} MB on ${gpu.id}; ${Math.round(free)} MB free after clearing Chorus's engines ${this.holdersText(gpu, pinned)}`,
          { field: "gpu" },
        );
      }
      const left = deadline - this.hooks.now();
      if (left <= 0) {
        const busy = on.map((i) => `${i.key} (${i.inFlight} request(s) running, ${i.vramMb} MB)`);
        throw new ChorusError(
          "CHORUS_ERR_TRAINING_LEASE_REFUSED",
          `fine-tune job ${req.jobId}: ${gpu.id} not clear after ${req.waitSeconds ?? 300} s; still held by ${busy.join(", ")}`,
          { field: "gpu", retryAfter: 30 },
        );
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.listeners.delete(done);
          req.signal?.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 1000));
        this.listeners.add(done);
        req.signal?.addEventListener("abort", done, { once: true });
      });
    }
  }
}
