/**
 * A fine-tune job's state: what `GET /api/finetune/jobs/:id`, the SSE stream, the terminal
 * progress bar and `job.json` all show. `apply()` folds one worker message into it; the same
 * function runs for every view, so they cannot disagree.
 */
import type { RunSettings, Replan } from "./recovery.ts";
import type { WorkerMessage } from "./protocol.ts";

export type JobStatus = "waiting-gpu" | "running" | "paused" | "stopping" | "stopped" | "finished" | "failed";

export interface CheckpointRef {
  path: string;
  epoch: number;
  globalStep: number;
}

export interface JobState {
  id: string;
  mode: "train" | "probe";
  status: JobStatus;
  /** The settings the current attempt runs with (after any re-plan). */
  settings: RunSettings;
  /** The settings the plan chose. */
  planned: RunSettings;
  predictedMb: number;
  attempt: number;
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  globalStep: number;
  totalSteps: number;
  loss: number | null;
  evalLoss: number | null;
  learningRate: number | null;
  samplesPerSecond: number | null;
  memory: { maxAllocatedMb: number; maxReservedMb: number; reservedMb: number | null; totalMb: number | null };
  longestClipSeconds: number | null;
  etaSeconds: number | null;
  lastCheckpoint: CheckpointRef | null;
  resumedFrom: CheckpointRef | null;
  replans: Replan[];
  ooms: number;
  warnings: string[];
  /** Set while steps are slow with reserved memory near the card's total. */
  slowdown: string | null;
  lease: { device: string; memoryMb: number } | null;
  result: { modelDir: string; referenceClips: string[]; referenceSeconds: number } | null;
  /** predictedMb: the plan's (corrected) peak; predictedRawMb: the model's own, which the ratio is over (absent in probes run before it was kept). */
  probe: { peakAllocatedMb: number; peakReservedMb: number; predictedMb: number; predictedRawMb?: number; ratio: number } | null;
  error: string | null;
  /** The process running the job (a server or `chorus finetune run`). */
  hostPid: number | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** What a new job's state is made from (a JobSpec is one). */
export type JobStart = Pick<JobState, "id" | "mode" | "planned" | "predictedMb" | "epochs">;

/** The state a job starts in, before its first attempt: waiting for the GPU, nothing run yet. */
export function initialState(spec: JobStart, now = new Date()): JobState {
  return {
    id: spec.id,
    mode: spec.mode,
    status: "waiting-gpu",
    settings: { ...spec.planned },
    planned: { ...spec.planned },
    predictedMb: spec.predictedMb,
    attempt: 0,
    epoch: 0,
    epochs: spec.mode === "probe" ? 1 : spec.epochs,
    step: 0,
    stepsPerEpoch: 0,
    globalStep: 0,
    totalSteps: 0,
    loss: null,
    evalLoss: null,
    learningRate: null,
    samplesPerSecond: null,
    memory: { maxAllocatedMb: 0, maxReservedMb: 0, reservedMb: null, totalMb: null },
    longestClipSeconds: null,
    etaSeconds: null,
    lastCheckpoint: null,
    resumedFrom: null,
    replans: [],
    ooms: 0,
    warnings: [],
    slowdown: null,
    lease: null,
    result: null,
    probe: null,
    error: null,
    hostPid: process.pid,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    finishedAt: null,
  };
}

/** Steps this much slower than the run's typical step, with reserved memory this close to the total, are a slowdown. */
export const SLOW = { factor: 3, nearFull: 0.95, window: 5 };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
}

export function slowdownText(ratio: number, reservedMb: number, totalMb: number): string {
  return (
    `steps are ${ratio.toFixed(1)}x slower than earlier while reserved memory is ${Math.round(reservedMb)} of ${Math.round(totalMb)} MB: ` +
    "the card is full, so the driver is spilling into system RAM (Windows' CUDA system-memory fallback) or the allocator is thrashing. " +
    "Fix: close other programs using the GPU, then stop and resume (chorus finetune run --resume JOB); " +
    "on Windows set finetune.runner.memoryFraction (or turn off the driver's system-memory fallback) so the job runs out of memory instead of crawling and Chorus re-plans a smaller batch"
  );
}

/** Step times kept per job for the slowdown check and the time left (not persisted). */
export class StepClock {
  private readonly seconds: number[] = [];

  add(stepSeconds: number): void {
    this.seconds.push(stepSeconds);
    if (this.seconds.length > 200) this.seconds.shift();
  }

  /** Recent median over the run's median, once there is enough history. */
  slowRatio(): number | undefined {
    if (this.seconds.length < SLOW.window * 2) return undefined;
    const base = median(this.seconds.slice(0, -SLOW.window));
    const recent = median(this.seconds.slice(-SLOW.window));
    return base > 0 ? recent / base : undefined;
  }

  eta(stepsLeft: number): number | null {
    return this.seconds.length ? Math.round(median(this.seconds.slice(-20)) * stepsLeft) : null;
  }
}

export function apply(state: JobState, m: WorkerMessage, clock: StepClock, now = new Date()): string | undefined {
  state.updatedAt = now.toISOString();
  switch (m.type) {
    case "start":
      state.status = "running";
      state.stepsPerEpoch = m.stepsPerEpoch;
      state.epochs = m.epochs;
      state.totalSteps = m.stepsPerEpoch * m.epochs;
      if (m.totalMb) state.memory.totalMb = m.totalMb;
      if (m.resumedFrom) {
        state.resumedFrom = { path: m.resumedFrom.checkpoint, epoch: m.resumedFrom.epoch, globalStep: m.resumedFrom.globalStep };
        state.globalStep = m.resumedFrom.globalStep;
      }
      return undefined;
    case "progress": {
      Object.assign(state, {
        epoch: m.epoch,
        step: m.step,
        globalStep: m.globalStep,
        stepsPerEpoch: m.stepsPerEpoch,
        loss: m.loss,
        learningRate: m.learningRate,
        samplesPerSecond: m.samplesPerSecond,
        longestClipSeconds: m.longestClipSeconds,
      });
      state.memory.maxAllocatedMb = Math.max(state.memory.maxAllocatedMb, m.maxAllocatedMb);
      state.memory.maxReservedMb = Math.max(state.memory.maxReservedMb, m.maxReservedMb);
      state.memory.reservedMb = m.reservedMb ?? null;
      if (m.totalMb) state.memory.totalMb = m.totalMb;
      clock.add(m.stepSeconds);
      state.etaSeconds = clock.eta(Math.max(0, state.totalSteps - m.globalStep));
      const ratio = clock.slowRatio();
      const total = state.memory.totalMb;
      const reserved = m.reservedMb ?? m.maxReservedMb;
      const slow = ratio !== undefined && ratio >= SLOW.factor && total !== null && reserved >= SLOW.nearFull * total;
      const was = state.slowdown;
      state.slowdown = slow ? slowdownText(ratio!, reserved, total!) : null;
      if (slow && !was) {
        state.warnings.push(`step ${m.globalStep}: ${state.slowdown}`);
        return state.slowdown!;
      }
      return undefined;
    }
    case "checkpoint":
      state.lastCheckpoint = { path: m.path, epoch: m.epoch, globalStep: m.globalStep };
      return undefined;
    case "eval":
      state.evalLoss = m.loss;
      return undefined;
    case "oom":
      state.ooms++;
      state.memory.maxAllocatedMb = Math.max(state.memory.maxAllocatedMb, m.peakAllocatedMb);
      state.memory.maxReservedMb = Math.max(state.memory.maxReservedMb, m.peakReservedMb);
      return undefined;
    case "paused":
      state.status = "paused";
      return undefined;
    case "resumed":
      state.status = "running";
      return undefined;
    case "stopped":
      if (m.checkpoint) state.lastCheckpoint = { path: m.checkpoint, epoch: state.lastCheckpoint?.epoch ?? state.epoch, globalStep: m.globalStep };
      return undefined;
    case "log":
      if (m.level === "warn" || m.level === "error") state.warnings.push(m.message);
      return undefined;
    default:
      return undefined;
  }
}
