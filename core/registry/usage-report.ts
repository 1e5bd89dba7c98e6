/**
 * What a worker thread's isolate holds, read inside the worker by the host's runtime (never by
 * plugin code): `process.memoryUsage()` in a worker gives the thread's own `heapUsed` and
 * `external` (which includes its `arrayBuffers`: Buffers and ArrayBuffers); only `rss` is the
 * whole process's (Node 20, 22 and 24 alike). Native memory of addons is in neither: the
 * server-wide watch (server-memory.ts) covers that through the RSS.
 * Read through `v8.getHeapStatistics()`: the same two figures (`used_heap_size` is `heapUsed`,
 * `external_memory` is `external`) without the process's RSS, which `memoryUsage()` also reads
 * from /proc on every call; a report goes with every chunk, on the engine's thread, so this
 * was some 10 us per chunk of the engine's time (about 2 % of a 45 ms eSpeak paragraph on a
 * loaded machine, in the host bench's profile).
 */
import v8 from "node:v8";
import type { UsageReporter } from "./engine-runtime.ts";

const MB = 1024 * 1024;

export function isolateUsage(everyMs: number): UsageReporter {
  return {
    everyMs,
    sample: () => {
      const h = v8.getHeapStatistics();
      return { heapMb: Math.round((h.used_heap_size / MB) * 10) / 10, externalMb: Math.round((h.external_memory / MB) * 10) / 10 };
    },
  };
}
