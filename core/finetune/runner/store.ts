/**
 * The job folder, `<finetune.runner.jobsDir>/<id>/`: `job.json` (the spec and the latest state,
 * rewritten atomically), `log.jsonl` (every worker message and every host decision, one JSON
 * object a line, appended), `worker.log` (the worker's stdout/stderr), `worker-job.json` (what
 * the worker was given last) and `checkpoints/`.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { ClipLength, RunSettings } from "./recovery.ts";
import type { JobState } from "./state.ts";

export interface JobClip extends ClipLength {
  clip: string;
  /** Kept by the check with no warning about it (a candidate reference clip). */
  clean: boolean;
}

export interface JobSpec {
  id: string;
  mode: "train" | "probe";
  model: string;
  datasetDir: string;
  trainCsv: string;
  evalCsv: string;
  language: string;
  baseModelDir: string;
  outDir: string;
  gpu: string;
  epochs: number;
  saveEverySteps: number;
  trainerConfig: Record<string, Record<string, unknown>>;
  planned: RunSettings;
  /** The plan's predicted device peak, MB (scaled by a stored probe's ratio where there is one). */
  predictedMb: number;
  /**
   * The model's own predicted device peak at these settings, before any probe's ratio, MB: what a
   * probe's ratio is measured against (absent in jobs made before it was kept: predictedMb).
   */
  predictedRawMb?: number;
  /** What the training lease asks for, MB. */
  leaseMb: number;
  clips: JobClip[];
  maxOomRetries: number;
  /** How long the training lease waits for busy engines on the card, seconds (finetune.runner.leaseWaitSeconds; absent in jobs made before it was passed: 300). */
  leaseWaitSeconds?: number;
  minClipSeconds: number;
  memoryFraction: number | null;
  probeSteps: number;
  /** The card the plan was for (probe results are filed under it). */
  card: string;
}

export interface StoredJob {
  spec: JobSpec;
  state: JobState;
}

export function newJobId(now = new Date()): string {
  return `ft-${now.toISOString().slice(0, 19).replace(/[-:T]/g, "")}-${crypto.randomBytes(3).toString("hex")}`;
}

export const JOB_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

export class JobFolder {
  readonly dir: string;

  constructor(
    root: string,
    readonly id: string,
  ) {
    if (!JOB_ID.test(id)) throw new Error(`bad job id '${id}'`);
    this.dir = path.join(root, id);
  }

  get checkpoints(): string {
    return path.join(this.dir, "checkpoints");
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  exists(): boolean {
    return fs.existsSync(this.file("job.json"));
  }

  create(): void {
    fs.mkdirSync(this.checkpoints, { recursive: true });
  }

  read(): StoredJob {
    return JSON.parse(fs.readFileSync(this.file("job.json"), "utf8")) as StoredJob;
  }

  write(job: StoredJob): void {
    const file = this.file("job.json");
    fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(job, null, 2)}\n`);
    fs.renameSync(`${file}.tmp`, file);
  }

  log(event: string, fields: Record<string, unknown>): void {
    fs.appendFileSync(this.file("log.jsonl"), `${JSON.stringify({ at: new Date().toISOString(), event, ...fields })}\n`);
  }

  readLog(): Record<string, unknown>[] {
    try {
      return fs
        .readFileSync(this.file("log.jsonl"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    } catch {
      return [];
    }
  }
}

/** Every job under `root`, newest first. */
export function listJobs(root: string): StoredJob[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const jobs: StoredJob[] = [];
  for (const name of names) {
    if (!JOB_ID.test(name)) continue;
    try {
      jobs.push(new JobFolder(root, name).read());
    } catch {
      // a folder without a readable job.json is not a job
    }
  }
  return jobs.sort((a, b) => b.state.createdAt.localeCompare(a.state.createdAt));
}
