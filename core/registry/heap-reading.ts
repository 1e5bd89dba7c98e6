/**
 * Reads a worker thread's heap from the main thread, where Node has `worker.getHeapStatistics()`
 * (22.16+, 24+). V8 serves the request by interrupting the thread, so it answers even while the
 * plugin is stuck in a synchronous loop that starves the runtime's own usage reports. It is
 * asked only for such a thread: the server-wide watch (server-memory.ts) calls it for a worker
 * whose runtime has gone silent, so that the loop is stopped at the engine's own limit, not
 * only at the server's RSS ceiling. A thread that reports on time is never interrupted. Node 20
 * has no such call; there the server-wide watch alone bounds a silent thread.
 */
import type { Worker } from "node:worker_threads";

const MB = 1024 * 1024;

interface HeapStatistics {
  used_heap_size: number;
  /** Memory V8 is told about outside its heap: Buffers' and ArrayBuffers' backing stores. */
  external_memory: number;
}

type Readable = Worker & { getHeapStatistics?: () => Promise<HeapStatistics> };

/**
 * A function that reads `worker`'s heap once and calls `reading(heapMb, externalMb)` with it, or
 * undefined on a Node without the call. One reading at a time: a call while one is on its way
 * does nothing (a slow answer is not stacked).
 */
export function workerHeapReader(worker: Worker, reading: (heapMb: number, externalMb: number) => void): (() => void) | undefined {
  const read = (worker as Readable).getHeapStatistics;
  if (typeof read !== "function") return undefined;
  let busy = false;
  return () => {
    if (busy) return;
    busy = true;
    read
      .call(worker)
      .then((s) => reading(s.used_heap_size / MB, s.external_memory / MB))
      .catch(() => {}) // the thread is gone or going; its exit is handled elsewhere
      .finally(() => (busy = false));
  };
}
