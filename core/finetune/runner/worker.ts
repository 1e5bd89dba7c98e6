/**
 * The trainer worker as a child process: the job file it reads, its environment, and one run
 * from spawn to exit (protocol.ts messages on fd 3; stdout and stderr to worker.log, the last
 * lines kept for the error). What the messages mean for the job is job.ts's business.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import type { Readable } from "node:stream";
import type { TrainingLease } from "../../scheduler/training.ts";
import type { WorkerCommand } from "./environment.ts";
import { LineSplitter, parseLine, type WorkerJob, type WorkerMessage } from "./protocol.ts";
import { applySettings } from "./recovery.ts";
import type { JobState } from "./state.ts";
import type { JobSpec } from "./store.ts";

/** How one run of the worker ended. */
export type Outcome = { kind: "finished" | "stopped" | "probe" | "failed" | "oom"; message?: WorkerMessage };

const TERMINAL = new Set(["finished", "stopped", "failed", "oom", "probe"]);

/** The job file the worker reads (`--job`): the spec at the job's current settings, resumed from its last checkpoint. */
export function workerJob(s: JobSpec, state: JobState, checkpointDir: string, lease: TrainingLease): WorkerJob {
  return {
    protocol: 1,
    mode: s.mode,
    jobId: s.id,
    baseModelDir: s.baseModelDir,
    dataset: { dir: s.datasetDir, trainCsv: s.trainCsv, evalCsv: s.evalCsv, language: s.language },
    outDir: s.outDir,
    checkpointDir,
    trainerConfig: applySettings(s.trainerConfig, state.settings),
    epochs: s.epochs,
    saveEverySteps: s.saveEverySteps,
    resumeFrom: s.mode === "probe" ? null : (state.lastCheckpoint?.path ?? null),
    probeSteps: s.probeSteps,
    memoryFraction: s.memoryFraction,
    deviceIndex: lease.simulated ? Number(lease.device.split(":")[1] ?? 0) : 0,
  };
}

/** The worker's environment: the host's, unbuffered UTF-8 Python, the launcher's additions, the CUDA allocator setting and the leased card. */
export function workerEnv(cmd: WorkerCommand, lease: TrainingLease, platform: NodeJS.Platform): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, PYTHONUNBUFFERED: "1", PYTHONIOENCODING: "utf-8", ...cmd.env };
  if (platform === "linux" && !env.PYTORCH_CUDA_ALLOC_CONF) env.PYTORCH_CUDA_ALLOC_CONF = "expandable_segments:True";
  if (!lease.simulated) env.CUDA_VISIBLE_DEVICES = lease.device.split(":")[1] ?? "0";
  return env;
}

export interface WorkerHandlers {
  /** Each protocol message, in order. */
  message(m: WorkerMessage): void;
  /** A line on fd 3 that is not a protocol message. */
  protocolError(error: string): void;
  /** The process is gone (before the outcome is settled). */
  exit(code: number | null, signal: NodeJS.Signals | null): void;
  /** Whether a stop was asked for: a worker that exits without a result then counts as stopped. */
  stopRequested(): boolean;
}

export interface WorkerRun {
  child: ChildProcess;
  /** Settles when the process has exited: its last terminal message, or why there was none. */
  outcome: Promise<Outcome>;
}

/** Starts the worker; its output is appended to `logFile`. */
export function startWorker(cmd: WorkerCommand, env: Record<string, string | undefined>, logFile: string, on: WorkerHandlers): WorkerRun {
  const log = fs.createWriteStream(logFile, { flags: "a" });
  const tail: string[] = [];
  let outcome: Outcome | undefined;
  const child = spawn(cmd.command, cmd.args, { stdio: ["pipe", "pipe", "pipe", "pipe"], env, windowsHide: true });
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    tail.push(
      ...chunk
        .toString()
        .split("\n")
        .filter((l) => l.trim()),
    );
    tail.splice(0, Math.max(0, tail.length - 20));
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  child.stdin!.on("error", () => {});
  const lines = new LineSplitter(
    (line) => {
      const parsed = parseLine(line);
      if (!parsed.ok) return on.protocolError(parsed.error);
      const m = parsed.message;
      if (TERMINAL.has(m.type)) outcome = { kind: m.type as Outcome["kind"], message: m };
      on.message(m);
    },
    (error) => on.protocolError(error),
  );
  (child.stdio[3] as Readable).on("data", (c: Buffer) => lines.push(c));
  (child.stdio[3] as Readable).on("error", () => {});
  child.on("error", (err) => {
    outcome ??= { kind: "failed", message: { type: "failed", reason: `cannot start the trainer (${cmd.command}): ${err.message}` } };
  });
  const settled = new Promise<Outcome>((resolve) => {
    child.on("close", (code, signal) => {
      lines.end();
      log.end();
      on.exit(code, signal);
      if (!outcome) {
        const reason = `the trainer exited (${signal ?? `code ${code}`}) without a result${tail.length ? `: ${tail.slice(-5).join(" | ")}` : ""}`;
        outcome = { kind: on.stopRequested() ? "stopped" : "failed", message: { type: "failed", reason } };
      }
      resolve(outcome);
    });
  });
  return { child, outcome: settled };
}
