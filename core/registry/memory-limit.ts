/**
 * Memory limits per plugin. An engine may use what its manifest declares (the largest `ramMb`
 * of its profiles) plus a margin; one that declares nothing gets a default ceiling. Enforced
 * where the engine runs:
 * - worker threads: V8 `resourceLimits` (the JS heap; past it the thread dies with
 *   ERR_WORKER_OUT_OF_MEMORY), and the runtime's reports of heap + external memory (Buffers,
 *   ArrayBuffers) checked by the link (worker-link.ts); a thread too busy to report is read by
 *   the host (Node 22.16+/24) and caught by the server-wide RSS ceiling (server-memory.ts);
 * - child processes: an RSS watchdog reading /proc/<pid>/status, which kills the child
 *   (SIGKILL) when it passes the limit.
 * Either way the engine's calls fail with a memory OutOfMemoryError (CHORUS_ERR_ENGINE_MEMORY
 * to clients), the scheduler records the higher need and the worker is restarted.
 */
import fs from "node:fs";
import type { Manifest } from "../../packages/sdk/src/index.ts";

export interface MemoryPolicy {
  /** MB allowed above the declared `ramMb`. */
  marginMb: number;
  /** MB for plugins that declare no RAM at all. */
  defaultCeilingMb: number;
  /** How often child processes' RSS is read, ms. */
  pollMs: number;
  /** MB a child process's own Node runtime takes before the engine allocates anything. */
  processRuntimeMb: number;
  /** The server process's RSS ceiling, MB (worker-thread engines; server-memory.ts); undefined: 80 % of the system's memory. */
  serverCeilingMb?: number;
  /** How often the server's RSS is read against that ceiling, ms. */
  serverPollMs: number;
}

export const DEFAULT_MEMORY_POLICY: MemoryPolicy = { marginMb: 256, defaultCeilingMb: 2048, pollMs: 250, processRuntimeMb: 160, serverPollMs: 50 };

/** The limit for an engine, MB: declared RAM plus margin, or the default ceiling. */
export function memoryLimitMb(
  manifest: Manifest,
  policy: Pick<MemoryPolicy, "marginMb" | "defaultCeilingMb"> = DEFAULT_MEMORY_POLICY,
): { limitMb: number; declaredMb: number } {
  const declaredMb = Math.max(0, ...manifest.resources.profiles.map((p) => p.ramMb ?? 0));
  return { declaredMb, limitMb: declaredMb > 0 ? declaredMb + policy.marginMb : policy.defaultCeilingMb };
}

/**
 * What an engine's link enforces (worker-link.ts `LinkLimits`): its limit, plus the runtime's own
 * memory for a child process, and how often memory is read.
 */
export function linkLimits(
  manifest: Manifest,
  memory?: Partial<MemoryPolicy>,
): { memoryMb: number; pollMs: number; serverCeilingMb?: number; serverPollMs: number } {
  const policy = { ...DEFAULT_MEMORY_POLICY, ...memory };
  const runtime = manifest.isolation === "process" ? policy.processRuntimeMb : 0;
  return {
    memoryMb: memoryLimitMb(manifest, policy).limitMb + runtime,
    pollMs: policy.pollMs,
    serverCeilingMb: policy.serverCeilingMb,
    serverPollMs: policy.serverPollMs,
  };
}

/** V8 limits for a worker thread whose JS heap may hold `limitMb`. */
export function workerResourceLimits(limitMb: number): { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number } {
  return { maxOldGenerationSizeMb: Math.max(32, Math.round(limitMb)), maxYoungGenerationSizeMb: Math.min(64, Math.max(4, Math.round(limitMb / 8))) };
}

/** Resident memory of a process, MB (undefined once it is gone). */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Polls a child's RSS; calls `exceeded` once when it passes `limitMb`. Returns a stop function.
 * Where /proc does not exist (macOS, Windows) nothing is watched.
 */
export function watchRss(pid: number, limitMb: number, pollMs: number, exceeded: (rss: number) => void): () => void {
  if (!fs.existsSync("/proc/self/status")) return () => {};
  const timer = setInterval(() => {
    const rss = rssMb(pid);
    if (rss === undefined) return stop();
    if (rss > limitMb) {
      stop();
      exceeded(rss);
    }
  }, pollMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  return stop;
}
