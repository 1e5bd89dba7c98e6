/**
 * What a worker thread's isolate holds, read inside the worker by the host's runtime (never by
 * plugin code): `process.memoryUsage()` in a worker gives the thread's own `heapUsed` and
 * `external` (which includes its `arrayBuffers`: Buffers and ArrayBuffers); only `rss` is the
 * whole process's (Node 20, 22 and 24 alike). Native memory of addons is in neither: the
 * server-wide watch (server-memory.ts) covers that through the RSS.
 */
import type { UsageReporter } from "./engine-runtime.ts";

const MB = 1024 * 1024;

export function isolateUsage(everyMs: number): UsageReporter {
  return {
    everyMs,
    sample: () => {
      const m = process.memoryUsage();
      return { heapMb: Math.round((m.heapUsed / MB) * 10) / 10, externalMb: Math.round((m.external / MB) * 10) / 10 };
    },
  };
}
