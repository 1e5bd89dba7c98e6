/**
 * One fine-tune job: takes a training lease from the scheduler, runs the trainer worker (a
 * child process speaking protocol.ts), and on out-of-memory re-plans (recovery.ts) and resumes
 * from the last checkpoint, until it finishes, stops, or gives up with what would fit.
 * Everything it sees and decides goes to the job folder (store.ts) and to listeners. The child
 * process itself (job file, environment, spawn to exit) is worker.ts's.
 */
import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import type { TrainingLease, TrainingLeaseRequest } from "../../scheduler/training.ts";
import { runtimeOf, type WorkerLauncher } from "./environment.ts";
import type { HostCommand, WorkerMessage } from "./protocol.ts";
import { probeRatio } from "./probes.ts";
import { replanAfterOom } from "./recovery.ts";
import { assembleResult } from "./result.ts";
import { apply, type JobState, StepClock } from "./state.ts";
import type { JobFolder, JobSpec } from "./store.ts";
import { type Outcome, startWorker, workerEnv, workerJob } from "./worker.ts";

export type { WorkerCommand, WorkerLauncher } from "./environment.ts";

export interface TrainingLeaseSource {
  acquire(request: TrainingLeaseRequest): Promise<TrainingLease>;
}

export interface JobDeps {
  leases: TrainingLeaseSource;
  launch: WorkerLauncher;
  platform?: NodeJS.Platform;
}

export class FinetuneJob extends EventEmitter {
  private child: ChildProcess | undefined;
  private stopRequested = false;
  private readonly abort = new AbortController();
  private readonly clock = new StepClock();
  private lastPersist = 0;
  private running: Promise<JobState> | undefined;

  constructor(
    readonly folder: JobFolder,
    readonly spec: JobSpec,
    readonly state: JobState,
    private readonly deps: JobDeps,
  ) {
    super();
  }

  get id(): string {
    return this.spec.id;
  }

  /** Runs to the end (finished, stopped or failed); the same promise on every call. */
  run(): Promise<JobState> {
    this.running ??= this.runOnce();
    return this.running;
  }

  stop(): void {
    this.stopRequested = true;
    if (this.state.status === "waiting-gpu") this.abort.abort();
    if (this.child) {
      this.send({ type: "stop" });
      this.setStatus("stopping");
    }
  }

  pause(): void {
    this.send({ type: "pause" });
  }

  resume(): void {
    this.send({ type: "resume" });
  }

  private send(command: HostCommand): void {
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed) stdin.write(`${JSON.stringify(command)}\n`);
    this.event("command", { command: command.type });
  }

  private event(event: string, fields: Record<string, unknown>): void {
    this.folder.log(event, fields);
    this.emit("event", { event, ...fields });
  }

  private persist(force = true): void {
    const now = Date.now();
    if (!force && now - this.lastPersist < 1000) return;
    this.lastPersist = now;
    this.folder.write({ spec: this.spec, state: this.state });
  }

  private setStatus(status: JobState["status"], error?: string): void {
    this.state.status = status;
    if (error !== undefined) this.state.error = error;
    if (status === "finished" || status === "failed" || status === "stopped") this.state.finishedAt = new Date().toISOString();
    this.state.updatedAt = new Date().toISOString();
    this.event("status", { status, ...(error ? { error } : {}) });
    this.persist();
    this.emit("state", this.state);
  }

  private async runOnce(): Promise<JobState> {
    this.folder.create();
    this.state.hostPid = process.pid;
    this.state.finishedAt = null;
    this.state.error = null;
    this.setStatus("waiting-gpu");
    let lease: TrainingLease;
    try {
      lease = await this.deps.leases.acquire({
        jobId: this.id,
        gpu: this.spec.gpu,
        memoryMb: this.spec.leaseMb,
        waitSeconds: this.spec.leaseWaitSeconds,
        signal: this.abort.signal,
      });
    } catch (err) {
      this.event("lease-refused", { reason: (err as Error).message });
      this.setStatus(this.stopRequested ? "stopped" : "failed", this.stopRequested ? undefined : `training lease refused: ${(err as Error).message}`);
      return this.state;
    }
    this.state.lease = { device: lease.device, memoryMb: lease.memoryMb };
    this.event("lease", { device: lease.device, deviceName: lease.deviceName, memoryMb: lease.memoryMb, totalMb: lease.totalMb });
    try {
      await this.attempts(lease);
    } catch (err) {
      this.setStatus("failed", (err as Error).message);
    } finally {
      lease.release();
      this.state.lease = null;
      this.event("lease-released", { device: lease.device });
      this.persist();
      this.emit("state", this.state);
    }
    return this.state;
  }

  private async attempts(lease: TrainingLease): Promise<void> {
    for (;;) {
      if (this.stopRequested) return this.setStatus("stopped");
      this.state.attempt++;
      const from = this.state.lastCheckpoint;
      this.event("attempt", {
        attempt: this.state.attempt,
        settings: this.state.settings,
        resumeFrom: from?.path ?? null,
        ...(this.state.attempt > 1 && !from ? { note: "no checkpoint yet: the epoch restarts" } : {}),
      });
      const outcome = await this.attempt(lease);
      const m = outcome.message;
      if (outcome.kind === "finished" && m?.type === "finished") {
        const r = assembleResult({
          copiedFiles: runtimeOf(this.spec.model).copiedFiles,
          baseModelDir: this.spec.baseModelDir,
          outDir: this.spec.outDir,
          datasetDir: this.spec.datasetDir,
          clips: this.spec.clips,
          metadata: {
            job: this.id,
            model: this.spec.model,
            settings: this.state.settings,
            planned: this.state.planned,
            replans: this.state.replans.map((x) => x.message),
          },
        });
        if (r.note) this.state.warnings.push(r.note);
        this.state.result = { modelDir: this.spec.outDir, referenceClips: r.referenceClips, referenceSeconds: r.referenceSeconds };
        this.event("result", { ...this.state.result });
        return this.setStatus("finished");
      }
      if (outcome.kind === "probe" && m?.type === "probe") {
        // against the model's own prediction: the corrected one would read ~1.0 and undo an earlier probe's correction
        const raw = this.spec.predictedRawMb ?? this.spec.predictedMb;
        this.state.probe = {
          peakAllocatedMb: m.peakAllocatedMb,
          peakReservedMb: m.peakReservedMb,
          predictedMb: this.spec.predictedMb,
          predictedRawMb: raw,
          ratio: probeRatio(m.peakAllocatedMb, m.peakReservedMb, raw),
        };
        return this.setStatus("finished");
      }
      if (outcome.kind === "stopped") return this.setStatus("stopped");
      if (outcome.kind === "failed") return this.setStatus("failed", m?.type === "failed" ? m.reason : "the trainer failed");
      if (m?.type !== "oom") return this.setStatus("failed", "the trainer failed");
      if (this.spec.mode === "probe")
        return this.setStatus(
          "failed",
          `the probe ran out of memory at the plan's settings (peak ${Math.round(m.peakAllocatedMb)} MB allocated, ${m.failedAllocationMb ?? "?"} MB more asked for): the plan does not fit this card`,
        );
      if (this.state.ooms > this.spec.maxOomRetries)
        return this.setStatus("failed", `gave up after ${this.state.ooms} out-of-memory errors (finetune.runner.maxOomRetries = ${this.spec.maxOomRetries})`);
      const next = replanAfterOom(this.state.settings, m, this.spec.clips, { minClipSeconds: this.spec.minClipSeconds });
      if (!next.ok) {
        this.event("give-up", { message: next.message });
        return this.setStatus("failed", next.message);
      }
      this.state.replans.push(next.replan);
      this.state.settings = next.replan.to;
      this.state.warnings.push(next.replan.message);
      this.event("replan", {
        ...next.replan,
        effectiveBatchBefore: next.replan.from.batchSize * next.replan.from.gradAccumSteps,
        effectiveBatchAfter: next.replan.to.batchSize * next.replan.to.gradAccumSteps,
        resumeFrom: this.state.lastCheckpoint?.path ?? null,
      });
    }
  }

  private async attempt(lease: TrainingLease): Promise<Outcome> {
    const jobFile = this.folder.file("worker-job.json");
    fs.writeFileSync(jobFile, `${JSON.stringify(workerJob(this.spec, this.state, this.folder.checkpoints, lease), null, 2)}\n`);
    const cmd = await this.deps.launch(jobFile, this.spec.model);
    const env = workerEnv(cmd, lease, this.deps.platform ?? process.platform);
    const worker = startWorker(cmd, env, this.folder.file("worker.log"), {
      message: (m) => this.onMessage(m),
      protocolError: (error) => this.event("protocol-error", { error }),
      exit: (code, signal) => {
        this.child = undefined;
        this.event("worker-exit", { code, signal });
      },
      stopRequested: () => this.stopRequested,
    });
    this.child = worker.child;
    if (this.stopRequested) this.send({ type: "stop" });
    return worker.outcome;
  }

  /** A protocol message from the worker: logged, applied to the state, persisted (progress at most once a second). */
  private onMessage(m: WorkerMessage): void {
    this.folder.log(m.type, m as unknown as Record<string, unknown>);
    const warning = apply(this.state, m, this.clock);
    if (warning) this.event("warning", { message: warning });
    this.persist(m.type !== "progress");
    this.emit("message", m);
    this.emit("state", this.state);
  }
}
