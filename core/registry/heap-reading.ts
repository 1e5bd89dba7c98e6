/**
 * Reads a worker thread's heap from the main thread, where Node has `worker.getHeapStatistics()`
 * (22.16+, 24+). V8 serves the request by interrupting the thread, so it answers even while the
 * plugin is stuck in a synchronous loop that starves the runtime's own usage reports: such a
 * loop is then stopped at the engine's own limit, not only at the server's RSS ceiling
 * (server-memory.ts). Node 20 has no such call; there the runtime's reports and the
 * server-wide watch are what bound a thread.
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
 * Calls `reading(heapMb, externalMb)` every `everyMs` until the returned stop function is called;
 * does nothing on a Node without the call. One reading at a time: a slow answer is not stacked.
 */
export function readWorkerHeap(worker: Worker, everyMs: number, reading: (heapMb: number, externalMb: number) => void): () => void {
  const read = (worker as Readable).getHeapStatistics;
  if (typeof read !== "function") return () => {};
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    read
      .call(worker)
      .then((s) => reading(s.used_heap_size / MB, s.external_memory / MB))
      .catch(() => {}) // the thread is gone or going; its exit is handled elsewhere
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
