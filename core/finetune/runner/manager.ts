/**
 * The fine-tune jobs of one Chorus (the server's, or the CLI's own): starts them, resumes
 * stopped ones from their last checkpoint, stops them, and reads finished ones from disk.
 * Probe results are filed per card and model for the planner (probes.ts).
 */
import { FinetuneJob, type JobDeps } from "./job.ts";
import { saveProbe } from "./probes.ts";
import { initialState, type JobState } from "./state.ts";
import { JobFolder, listJobs, type JobSpec, type StoredJob } from "./store.ts";

export class JobConflictError extends Error {}

const ACTIVE = new Set(["waiting-gpu", "running", "paused", "stopping"]);

function alive(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A job whose process ended without a final state (killed, crashed) reads as stopped: resumable. */
function orphaned(job: StoredJob): StoredJob {
  if (!ACTIVE.has(job.state.status) || (job.state.hostPid !== process.pid && alive(job.state.hostPid))) return job;
  return {
    ...job,
    state: {
      ...job.state,
      status: "stopped",
      lease: null,
      error: `interrupted: the process that ran it (pid ${job.state.hostPid ?? "?"}) ended; resume it from its last checkpoint`,
    },
  };
}
export class JobNotFoundError extends Error {}

export class JobManager {
  private readonly live = new Map<string, FinetuneJob>();

  constructor(
    readonly root: string,
    private readonly deps: JobDeps,
    private readonly probesDir?: string,
  ) {}

  start(spec: JobSpec): FinetuneJob {
    const folder = new JobFolder(this.root, spec.id);
    folder.create();
    const job = new FinetuneJob(folder, spec, initialState(spec), this.deps);
    folder.write({ spec, state: job.state });
    folder.log("created", { spec: { ...spec, clips: `${spec.clips.length} clips` } });
    return this.track(job);
  }

  /** Continues a stopped (or failed) job from its last checkpoint, with the settings it last ran with. */
  resume(id: string, overrides: { epochs?: number } = {}): FinetuneJob {
    if (this.live.has(id)) throw new JobConflictError(`job ${id} is running`);
    const folder = this.folder(id);
    const stored = orphaned(folder.read());
    if (stored.state.status === "finished")
      throw new JobConflictError(`job ${id} has finished; its model is in ${stored.state.result?.modelDir ?? stored.spec.outDir}`);
    if (stored.spec.mode === "probe") throw new JobConflictError(`job ${id} is a probe; run a new probe instead`);
    const spec = { ...stored.spec, ...(overrides.epochs ? { epochs: overrides.epochs } : {}) };
    const state: JobState = { ...stored.state, epochs: spec.epochs, totalSteps: stored.state.stepsPerEpoch * spec.epochs, slowdown: null, lease: null };
    folder.log("resume", {
      from: state.lastCheckpoint?.path ?? null,
      settings: state.settings,
      note: state.lastCheckpoint ? undefined : "no checkpoint: starts from the beginning",
    });
    return this.track(new FinetuneJob(folder, spec, state, this.deps));
  }

  private track(job: FinetuneJob): FinetuneJob {
    this.live.set(job.id, job);
    void job.run().then((state) => {
      if (state.mode === "probe" && state.probe && this.probesDir) saveProbe(this.probesDir, job.spec, state.probe);
      this.live.delete(job.id);
    });
    return job;
  }

  private folder(id: string): JobFolder {
    let folder: JobFolder;
    try {
      folder = new JobFolder(this.root, id);
    } catch {
      throw new JobNotFoundError(`no fine-tune job '${id}'`);
    }
    if (!folder.exists()) throw new JobNotFoundError(`no fine-tune job '${id}' in ${this.root}`);
    return folder;
  }

  running(id: string): FinetuneJob | undefined {
    return this.live.get(id);
  }

  get(id: string): StoredJob {
    const job = this.live.get(id);
    if (job) return { spec: job.spec, state: job.state };
    return orphaned(this.folder(id).read());
  }

  log(id: string): Record<string, unknown>[] {
    return this.folder(id).readLog();
  }

  list(): JobState[] {
    return listJobs(this.root).map((j) => this.live.get(j.state.id)?.state ?? orphaned(j).state);
  }

  stop(id: string): JobState {
    const job = this.live.get(id);
    if (!job) {
      const stored = this.get(id);
      throw new JobConflictError(`job ${id} is not running (${stored.state.status})`);
    }
    job.stop();
    return job.state;
  }

  /** Stops every running job (each writes a checkpoint) and waits for them. */
  async close(): Promise<void> {
    const jobs = [...this.live.values()];
    for (const j of jobs) j.stop();
    await Promise.all(jobs.map((j) => j.run()));
  }
}
