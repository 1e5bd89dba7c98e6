/**
 * The server-wide backstop for worker-thread engines' memory. Worker threads share the server
 * process, and their Buffers, ArrayBuffers and native allocations lie outside V8's heap limit.
 *
 * How a worker thread's memory is read, one mechanism per purpose:
 * - Its own limit while its event loop runs: the runtime in the thread (usage-report.ts) reads
 *   the isolate's heap + external memory with every chunk (a stream that hoards is stopped
 *   within a chunk; the reading rides on the chunk's message) and on a timer every
 *   `engines.memory.pollMs` (an engine that allocates without yielding audio: while loading,
 *   idle, between sentences). Its link (worker-link.ts) checks each report against the limit
 *   and hands it here: a report is also the proof that the thread is not stuck.
 * - Its own limit while it is stuck in a synchronous loop (no report can come): this watch asks
 *   the host to read the thread's heap from the main thread (heap-reading.ts, Node 22.16+/24),
 *   only for a worker silent for longer than its report interval plus one tick of this watch;
 *   a worker that reports on time is never interrupted. Such readings go to the link's limit
 *   check only, not to `report`: they do not show the thread is alive.
 * - The server as a whole (native memory, and a silent thread on Node 20, which has no such
 *   reading): this watch (one timer for all workers) reads the process's resident memory on
 *   the main thread every `engines.memory.serverPollMs` and, once it passes `ACT_AT` of the
 *   ceiling (`engines.memory.serverCeilingMb`, default 80 % of the system's memory or of the
 *   container's limit), stops ONE worker-thread engine, then waits for it to be gone before it
 *   judges again (freed memory takes a moment to leave the RSS).
 *
 * Attribution (which worker is stopped): only for memory that no report explains. Each worker
 * is charged the growth of the process's RSS since its own last report. A worker that reports
 * on time has seen almost no growth since, and what it holds is within its limit (the link
 * checks every report); a worker stuck in synchronous work (the allocating loop) has not
 * reported since before the growth, so the growth is charged to it. The worker with the
 * largest charge is stopped, if that charge is at least BLAME_MIN_MB; otherwise no worker is to
 * blame (the RSS is high but nobody is growing unseen: the allocator keeping freed memory, the
 * host's own share) and none is stopped, so that innocent engines are not killed in a loop. Its
 * estimated holding (what it reported plus the charge) is what the scheduler books for it
 * afterwards. Not caught: native memory (addons) of a worker that keeps reporting on time;
 * engines with large native allocations belong in `isolation: "process"`, whose RSS is watched
 * per process.
 * One watch per process: the RSS is the process's, whatever number of hosts it runs.
 */
import os from "node:os";

/** Share of the ceiling at which the watch acts, so that what is allocated between two readings still fits under it. */
export const ACT_AT = 0.9;
/** How old an RSS reading a worker's report may reuse (recentRss). */
export const REPORT_RSS_MAX_AGE_MS = 5;
/** RSS growth since a worker's last report, MB, below which it is not blamed. */
export const BLAME_MIN_MB = 16;

export interface WatchedWorker {
  /** For the log and the error: the engine id. */
  readonly label: string;
  /** Stops the worker (the link's memory kill); resolves when it is gone. */
  stop(detail: string, estimateMb: number): Promise<void>;
  /**
   * Reads the thread's heap from the main thread and checks it against the engine's limit
   * (heap-reading.ts); absent where Node cannot. Called only while the worker is silent.
   */
  readHeap?(): void;
}

interface Entry {
  worker: WatchedWorker;
  ceilingMb: number;
  /** What the worker last reported (heap + external), MB; its time; the process RSS then. */
  usedMb: number;
  reportedAt: number;
  rssAtReport: number;
  /** How long without a report makes the worker silent (its heap is then read by the host), ms. */
  silentAfterMs: number;
}

export interface WatchHandle {
  /** A usage report from the worker's runtime (in the thread: with a chunk or on its timer), MB. */
  report(usedMb: number): void;
  unregister(): void;
}

const MB = 1024 * 1024;

export class ServerMemoryWatch {
  private readonly entries = new Set<Entry>();
  private timer?: NodeJS.Timeout;
  private pollMs = Infinity;
  /** Set while a stopped worker is on its way out: no second judgement before it is gone. */
  private stopping?: Promise<void>;
  /** Highest RSS seen while any worker was watched, MB (for tests and the bench). */
  peakRssMb = 0;

  /** The last RSS reading and when it was taken (reports reuse it for REPORT_RSS_MAX_AGE_MS). */
  private lastRss = { mb: 0, at: -Infinity };

  constructor(private readonly rss: () => number = () => process.memoryUsage.rss() / MB) {}

  /**
   * The RSS for a report: a reading at most REPORT_RSS_MAX_AGE_MS old. Reports come with every
   * chunk (every fraction of a millisecond while an engine streams), and each reading is a
   * /proc read on the event loop; a worker is charged growth since its report, so a reading a
   * few ms old charges a reporting worker at most a few ms of growth, far below BLAME_MIN_MB
   * for all but a runaway allocation, and a stuck worker, not reporting, is charged more still.
   */
  private recentRss(): number {
    const now = performance.now();
    if (now - this.lastRss.at > REPORT_RSS_MAX_AGE_MS) this.lastRss = { mb: this.rss(), at: now };
    return this.lastRss.mb;
  }

  /**
   * Watches a worker; `ceilingMb` undefined: 80 % of the system's memory. `reportEveryMs`: the
   * interval of its runtime's timer; a worker that has not reported for that plus `pollMs` is
   * silent, and its heap is read by the host (`readHeap`) at each tick until it reports again.
   */
  register(worker: WatchedWorker, ceilingMb: number | undefined, pollMs: number, reportEveryMs = Infinity): WatchHandle {
    const now = this.rss();
    const entry: Entry = {
      worker,
      ceilingMb: ceilingMb ?? defaultCeilingMb(),
      usedMb: 0,
      reportedAt: Date.now(),
      rssAtReport: now,
      silentAfterMs: reportEveryMs + pollMs,
    };
    this.entries.add(entry);
    if (!this.timer || pollMs < this.pollMs) {
      clearInterval(this.timer);
      this.pollMs = Math.min(this.timer ? this.pollMs : Infinity, pollMs);
      this.timer = setInterval(() => this.check(), this.pollMs);
      this.timer.unref();
    }
    return {
      report: (usedMb) => {
        entry.usedMb = usedMb;
        entry.reportedAt = Date.now();
        entry.rssAtReport = this.recentRss();
      },
      unregister: () => {
        this.entries.delete(entry);
        if (!this.entries.size && this.timer) {
          clearInterval(this.timer);
          this.timer = undefined;
          this.pollMs = Infinity;
        }
      },
    };
  }

  /**
   * One tick: has the heap of each silent worker read (its link stops it past its own limit),
   * then reads the RSS and stops the worker with the largest estimate when it is past `ACT_AT`
   * of the ceiling.
   */
  check(): void {
    if (!this.entries.size) return;
    const now = Date.now();
    for (const e of this.entries) if (e.worker.readHeap && now - e.reportedAt > e.silentAfterMs) e.worker.readHeap();
    const rss = this.rss();
    this.lastRss = { mb: rss, at: performance.now() };
    this.peakRssMb = Math.max(this.peakRssMb, rss);
    if (this.stopping) return;
    const ceiling = Math.min(...[...this.entries].map((e) => e.ceilingMb));
    if (rss <= ceiling * ACT_AT) return;
    const victim = chooseVictim([...this.entries], rss);
    if (!victim) return;
    this.entries.delete(victim.entry); // it is on its way out; never judged again
    const e = victim.entry;
    const detail = `the server's resident memory (${Math.round(rss)} MB) passed ${Math.round(ACT_AT * 100)} % of its ceiling of ${ceiling} MB (engines.memory.serverCeilingMb) while this engine's thread did not report: an estimated ${Math.round(victim.estimateMb)} MB (it reported ${Math.round(e.usedMb)} MB ${Date.now() - e.reportedAt} ms ago; the server grew by ${Math.round(victim.growthMb)} MB since)`;
    this.stopping = e.worker
      .stop(detail, victim.estimateMb)
      .catch(() => {})
      .finally(() => (this.stopping = undefined));
  }
}

/**
 * The worker charged with the most RSS growth since its last report (at least BLAME_MIN_MB),
 * with its estimated holding: what it reported plus that growth.
 */
export function chooseVictim<T extends { usedMb: number; rssAtReport: number }>(
  entries: T[],
  rssMb: number,
): { entry: T; growthMb: number; estimateMb: number } | undefined {
  let best: { entry: T; growthMb: number; estimateMb: number } | undefined;
  for (const entry of entries) {
    const growthMb = rssMb - entry.rssAtReport;
    if (growthMb >= BLAME_MIN_MB && (!best || growthMb > best.growthMb)) best = { entry, growthMb, estimateMb: entry.usedMb + growthMb };
  }
  return best;
}

/** The ceiling when none is configured: 80 % of the system's memory (or of the container's limit, when lower), MB. */
export function defaultCeilingMb(): number {
  const constrained = process.constrainedMemory?.() ?? 0; // cgroup limit; 0 (or a huge number) when none
  const total = constrained > 0 && constrained < os.totalmem() ? constrained : os.totalmem();
  return Math.round((total / MB) * 0.8);
}

/** The process's watch (the RSS is the process's). */
export const serverMemory = new ServerMemoryWatch();
