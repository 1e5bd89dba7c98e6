/**
 * One fine-tune job: takes a training lease from the scheduler, runs the trainer worker (a
 * child process speaking protocol.ts), and on out-of-memory re-plans (recovery.ts) and resumes
 * from the last checkpoint, until it finishes, stops, or gives up with what would fit.
 * Everything it sees and decides goes to the job folder (store.ts) and to listeners.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import type { Readable } from "node:stream";
import type { TrainingLease, TrainingLeaseRequest } from "../../scheduler/training.ts";
import { LineSplitter, parseLine, type HostCommand, type WorkerJob, type WorkerMessage } from "./protocol.ts";
import { applySettings, replanAfterOom } from "./recovery.ts";
import { runtimeOf, type WorkerLauncher } from "./environment.ts";

export type { WorkerCommand, WorkerLauncher } from "./environment.ts";
import { assembleResult } from "./result.ts";
import { apply, StepClock, type JobState } from "./state.ts";
import type { JobFolder, JobSpec } from "./store.ts";

export interface TrainingLeaseSource {
  acquire(request: TrainingLeaseRequest): Promise<TrainingLease>;
}

export interface JobDeps {
  leases: TrainingLeaseSource;
  launch: WorkerLauncher;
  platform?: NodeJS.Platform;
}

export function initialState(spec: JobSpec, now = new Date()): JobState {
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

type Outcome = { kind: "finished" | "stopped" | "probe" | "failed" | "oom"; message?: WorkerMessage };

const TERMINAL = new Set(["finished", "stopped", "failed", "oom", "probe"]);

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
      lease = await this.deps.leases.acquire({ jobId: this.id, gpu: this.spec.gpu, memoryMb: this.spec.leaseMb, signal: this.abort.signal });
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
        const measured = Math.max(m.peakReservedMb, m.peakAllocatedMb);
        this.state.probe = {
          peakAllocatedMb: m.peakAllocatedMb,
          peakReservedMb: m.peakReservedMb,
          predictedMb: this.spec.predictedMb,
          ratio: Math.round((measured / Math.max(1, this.spec.predictedMb)) * 1000) / 1000,
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

  private workerJob(lease: TrainingLease): WorkerJob {
    const s = this.spec;
    return {
      protocol: 1,
      mode: s.mode,
      jobId: s.id,
      baseModelDir: s.baseModelDir,
      dataset: { dir: s.datasetDir, trainCsv: s.trainCsv, evalCsv: s.evalCsv, language: s.language },
      outDir: s.outDir,
      checkpointDir: this.folder.checkpoints,
      trainerConfig: applySettings(s.trainerConfig, this.state.settings),
      epochs: s.epochs,
      saveEverySteps: s.saveEverySteps,
      resumeFrom: s.mode === "probe" ? null : (this.state.lastCheckpoint?.path ?? null),
      probeSteps: s.probeSteps,
      memoryFraction: s.memoryFraction,
      deviceIndex: lease.simulated ? Number(lease.device.split(":")[1] ?? 0) : 0,
    };
  }

  private async attempt(lease: TrainingLease): Promise<Outcome> {
    const jobFile = this.folder.file("worker-job.json");
    fs.writeFileSync(jobFile, `${JSON.stringify(this.workerJob(lease), null, 2)}\n`);
    const cmd = await this.deps.launch(jobFile, this.spec.model);
    const platform = this.deps.platform ?? process.platform;
    const env: Record<string, string | undefined> = { ...process.env, PYTHONUNBUFFERED: "1", PYTHONIOENCODING: "utf-8", ...cmd.env };
    if (platform === "linux" && !env.PYTORCH_CUDA_ALLOC_CONF) env.PYTORCH_CUDA_ALLOC_CONF = "expandable_segments:True";
    if (!lease.simulated) env.CUDA_VISIBLE_DEVICES = lease.device.split(":")[1] ?? "0";
    const log = fs.createWriteStream(this.folder.file("worker.log"), { flags: "a" });
    const tail: string[] = [];
    let outcome: Outcome | undefined;
    return new Promise<Outcome>((resolve) => {
      const child = spawn(cmd.command, cmd.args, { stdio: ["pipe", "pipe", "pipe", "pipe"], env, windowsHide: true });
      this.child = child;
      if (this.stopRequested) this.send({ type: "stop" });
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
          if (!parsed.ok) return this.event("protocol-error", { error: parsed.error });
          const m = parsed.message;
          this.folder.log(m.type, m as unknown as Record<string, unknown>);
          const warning = apply(this.state, m, this.clock);
          if (warning) this.event("warning", { message: warning });
          if (TERMINAL.has(m.type)) outcome = { kind: m.type as Outcome["kind"], message: m };
          this.persist(m.type !== "progress");
          this.emit("message", m);
          this.emit("state", this.state);
        },
        (error) => this.event("protocol-error", { error }),
      );
      (child.stdio[3] as Readable).on("data", (c: Buffer) => lines.push(c));
      (child.stdio[3] as Readable).on("error", () => {});
      child.on("error", (err) => {
        outcome ??= { kind: "failed", message: { type: "failed", reason: `cannot start the trainer (${cmd.command}): ${err.message}` } };
      });
      child.on("close", (code, signal) => {
        lines.end();
        log.end();
        this.child = undefined;
        this.event("worker-exit", { code, signal });
        if (!outcome) {
          const reason = `the trainer exited (${signal ?? `code ${code}`}) without a result${tail.length ? `: ${tail.slice(-5).join(" | ")}` : ""}`;
          outcome = { kind: this.stopRequested ? "stopped" : "failed", message: { type: "failed", reason } };
        }
        resolve(outcome);
      });
    });
  }
}
