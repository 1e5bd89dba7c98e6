/**
 * The trainer worker's line protocol (docs/finetune.md, "The trainer protocol"): one JSON
 * object per line. Worker to host on file descriptor 3 (never stdout, which libraries print
 * to); host to worker on stdin. Memory in MB, times in seconds.
 */
import { z } from "zod";

const num = z.number();
const mb = z.number().nonnegative();

export const WorkerMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("start"),
    protocol: z.literal(1),
    mode: z.enum(["train", "probe"]),
    device: z.string(),
    totalMb: mb.optional(),
    stack: z.record(z.string(), z.string()).default({}),
    trainSamples: z.number().int(),
    evalSamples: z.number().int(),
    stepsPerEpoch: z.number().int().positive(),
    epochs: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    gradAccumSteps: z.number().int().positive(),
    maxClipSeconds: num,
    resumedFrom: z.object({ checkpoint: z.string(), epoch: z.number().int(), globalStep: z.number().int() }).nullable(),
    env: z.record(z.string(), z.string()).default({}),
  }),
  z.object({
    type: z.literal("progress"),
    epoch: z.number().int(),
    step: z.number().int(),
    globalStep: z.number().int(),
    stepsPerEpoch: z.number().int(),
    loss: num,
    learningRate: num,
    samplesPerSecond: num,
    stepSeconds: num,
    maxAllocatedMb: mb,
    maxReservedMb: mb,
    reservedMb: mb.optional(),
    totalMb: mb.optional(),
    longestClipSeconds: num,
  }),
  z.object({
    type: z.literal("checkpoint"),
    path: z.string(),
    epoch: z.number().int(),
    globalStep: z.number().int(),
    reason: z.enum(["steps", "epoch", "stop"]),
  }),
  z.object({ type: z.literal("eval"), epoch: z.number().int(), globalStep: z.number().int(), loss: num }),
  z.object({
    type: z.literal("oom"),
    message: z.string(),
    failedAllocationMb: mb.nullable(),
    peakAllocatedMb: mb,
    peakReservedMb: mb,
    totalMb: mb.nullable(),
    batchSize: z.number().int(),
    longestClipSeconds: num,
    globalStep: z.number().int(),
    phase: z.enum(["forward", "backward", "optimizer", "eval", "load"]).default("forward"),
  }),
  z.object({
    type: z.literal("probe"),
    steps: z.number().int(),
    peakAllocatedMb: mb,
    peakReservedMb: mb,
    batchSize: z.number().int(),
    longestClipSeconds: num,
    totalMb: mb.nullable(),
  }),
  z.object({ type: z.literal("paused"), globalStep: z.number().int() }),
  z.object({ type: z.literal("resumed"), globalStep: z.number().int() }),
  z.object({ type: z.literal("stopped"), checkpoint: z.string().nullable(), globalStep: z.number().int() }),
  z.object({ type: z.literal("finished"), modelPath: z.string(), checkpoint: z.string().nullable(), epochs: z.number().int(), globalStep: z.number().int() }),
  z.object({ type: z.literal("failed"), reason: z.string(), detail: z.string().optional() }),
  z.object({ type: z.literal("log"), level: z.enum(["debug", "info", "warn", "error"]), message: z.string() }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessage>;
export type MessageOf<T extends WorkerMessage["type"]> = Extract<WorkerMessage, { type: T }>;

export type HostCommand = { type: "stop" } | { type: "pause" } | { type: "resume" };

/** Parses one line; a bad line is reported, never thrown (a worker bug must not kill the host). */
export function parseLine(line: string): { ok: true; message: WorkerMessage } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: `not JSON: ${line.slice(0, 120)}` };
  }
  const r = WorkerMessage.safeParse(raw);
  if (!r.success)
    return {
      ok: false,
      error: `bad ${String((raw as { type?: unknown })?.type ?? "message")}: ${r.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
    };
  return { ok: true, message: r.data };
}

/** Splits a byte stream into lines (bounded: a line over 1 MiB is an error). */
export class LineSplitter {
  private rest = "";
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onError: (error: string) => void,
  ) {}

  push(chunk: Buffer | string): void {
    this.rest += chunk.toString();
    const lines = this.rest.split("\n");
    this.rest = lines.pop()!;
    for (const l of lines) if (l.trim()) this.onLine(l);
    if (this.rest.length > 1 << 20) {
      this.onError("a protocol line over 1 MiB");
      this.rest = "";
    }
  }

  end(): void {
    if (this.rest.trim()) this.onLine(this.rest);
    this.rest = "";
  }
}

/** What the host hands the worker (a JSON file given as `--job FILE`). */
export interface WorkerJob {
  protocol: 1;
  mode: "train" | "probe";
  jobId: string;
  baseModelDir: string;
  dataset: { dir: string; trainCsv: string; evalCsv: string; language: string };
  outDir: string;
  checkpointDir: string;
  /** coqui GPTArgs / GPTTrainerConfig / TrainerArgs field names and values (the plan's, re-planned after an OOM). */
  trainerConfig: Record<string, Record<string, unknown>>;
  epochs: number;
  saveEverySteps: number;
  resumeFrom: string | null;
  /** Probe: steps to run on a batch built from the longest clips. */
  probeSteps: number;
  /** torch.cuda.set_per_process_memory_fraction (Windows: fail instead of spilling into system RAM), null: unset. */
  memoryFraction: number | null;
  deviceIndex: number;
}
