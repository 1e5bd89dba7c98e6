/**
 * The server-wide backstop for worker-thread engines' memory. Worker threads share the server
 * process, and their Buffers, ArrayBuffers and native allocations lie outside V8's heap limit.
 * Each worker's runtime reports what its isolate holds (heap + external memory, see
 * usage-report.ts) on a timer and with every chunk, and its link stops it past its own limit;
 * but a plugin that allocates in a synchronous loop starves that timer and cannot report.
 * This watch reads the process's resident memory on the main thread every `pollMs` and, once
 * it passes `ACT_AT` of the ceiling (`engines.memory.serverCeilingMb`, default 80 % of the
 * system's memory), stops ONE worker-thread engine, then waits for it to be gone before it
 * judges again (freed memory takes a moment to leave the RSS).
 *
 * Attribution (which worker is stopped): each worker's estimated holding now is what it last
 * reported plus all the growth of the process's RSS since that report. A worker that reports
 * on time has seen almost no growth since its report, so its estimate is what it holds; a
 * worker stuck in synchronous work (the allocating loop) has not reported since before the
 * growth, so the growth is charged to it. The largest estimate is stopped: the stuck grower,
 * or (when every worker reports on time, so the growth is what they report) the largest
 * holder. Memory no report can see (a worker's native allocations) is charged the same way,
 * to the worker that stopped answering while it grew. Stopping a worker wrongly costs a
 * restart; letting the process pass the ceiling can cost the server.
 * One watch per process: the RSS is the process's, whatever number of hosts it runs.
 */
import os from "node:os";

/** Share of the ceiling at which the watch acts, so that what is allocated between two readings still fits under it. */
export const ACT_AT = 0.9;

export interface WatchedWorker {
  /** For the log and the error: the engine id. */
  readonly label: string;
  /** Stops the worker (the link's memory kill); resolves when it is gone. */
  stop(detail: string, estimateMb: number): Promise<void>;
}

interface Entry {
  worker: WatchedWorker;
  ceilingMb: number;
  /** What the worker last reported (heap + external), MB; its time; the process RSS then. */
  usedMb: number;
  reportedAt: number;
  rssAtReport: number;
}

export interface WatchHandle {
  /** A usage report from the worker's runtime, MB. */
  report(usedMb: number): void;
  unregister(): void;
}

const MB = 1024 * 1024;

export class ServerMemoryWatch {
  private readonly entries = new Set<Entry>();
  private timer?: NodeJS.Timeout;
  private pollMs = 50;
  /** Set while a stopped worker is on its way out: no second judgement before it is gone. */
  private stopping?: Promise<void>;
  /** Highest RSS seen while any worker was watched, MB (for tests and the bench). */
  peakRssMb = 0;

  constructor(private readonly rss: () => number = () => process.memoryUsage.rss() / MB) {}

  /** Watches a worker; `ceilingMb` undefined: 80 % of the system's memory. */
  register(worker: WatchedWorker, ceilingMb: number | undefined, pollMs: number): WatchHandle {
    const now = this.rss();
    const entry: Entry = { worker, ceilingMb: ceilingMb ?? defaultCeilingMb(), usedMb: 0, reportedAt: Date.now(), rssAtReport: now };
    this.entries.add(entry);
    this.pollMs = Math.min(this.pollMs, pollMs);
    if (!this.timer) {
      this.timer = setInterval(() => this.check(), this.pollMs);
      this.timer.unref();
    }
    return {
      report: (usedMb) => {
        entry.usedMb = usedMb;
        entry.reportedAt = Date.now();
        entry.rssAtReport = this.rss();
      },
      unregister: () => {
        this.entries.delete(entry);
        if (!this.entries.size && this.timer) {
          clearInterval(this.timer);
          this.timer = undefined;
          this.pollMs = 50;
        }
      },
    };
  }

  /** One reading: stops the worker with the largest estimate when the RSS is past `ACT_AT` of the ceiling. */
  check(): void {
    if (!this.entries.size) return;
    const rss = this.rss();
    this.peakRssMb = Math.max(this.peakRssMb, rss);
    if (this.stopping) return;
    const ceiling = Math.min(...[...this.entries].map((e) => e.ceilingMb));
    if (rss <= ceiling * ACT_AT) return;
    const victim = chooseVictim([...this.entries], rss);
    if (!victim) return;
    this.entries.delete(victim.entry); // it is on its way out; never judged again
    const e = victim.entry;
    const detail = `the server's resident memory (${Math.round(rss)} MB) passed ${Math.round(ACT_AT * 100)} % of its ceiling of ${ceiling} MB (engines.memory.serverCeilingMb) and this engine's thread holds the most of it: an estimated ${Math.round(victim.estimateMb)} MB (it reported ${Math.round(e.usedMb)} MB ${Date.now() - e.reportedAt} ms ago; the server grew by ${Math.round(Math.max(0, rss - e.rssAtReport))} MB since)`;
    this.stopping = e.worker.stop(detail, victim.estimateMb).catch(() => {}).finally(() => (this.stopping = undefined));
  }
}

/** The worker whose estimated holding (last report + RSS growth since it) is largest. */
export function chooseVictim<T extends { usedMb: number; rssAtReport: number }>(entries: T[], rssMb: number): { entry: T; estimateMb: number } | undefined {
  let best: { entry: T; estimateMb: number } | undefined;
  for (const entry of entries) {
    const estimateMb = entry.usedMb + Math.max(0, rssMb - entry.rssAtReport);
    if (!best || estimateMb > best.estimateMb) best = { entry, estimateMb };
  }
  return best;
}

/** The ceiling when none is configured: 80 % of the system's memory, MB. */
export function defaultCeilingMb(): number {
  return Math.round((os.totalmem() / MB) * 0.8);
}

/** The process's watch (the RSS is the process's). */
export const serverMemory = new ServerMemoryWatch();
