/**
 * Load test (issue 6): autocannon against POST /v1/audio/speech with eSpeak NG, `wav` and `mp3`:
 * requests per second, p50/p99 latency, errors (target 0) and the server's memory before and
 * after. The server runs in this process on 127.0.0.1 (random port); runs are bounded in time.
 * Called from `npm run bench` as `benchLoad()`.
 */
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import pino from "pino";
import { loadConfig } from "../../core/config/load.ts";
import { createHost } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";

export interface LoadResult {
  format: "wav" | "mp3";
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  heapBeforeMb: number;
  heapAfterMb: number;
}

const INPUT = "The quick brown fox jumps over the lazy dog. Chorus answers many clients at once.";
const mb = (n: number) => n / 1024 / 1024;
const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ")).join("\n");
}

export async function benchLoad(options: { durationSeconds?: number; connections?: number; formats?: ("wav" | "mp3")[] } = {}): Promise<LoadResult[]> {
  const { durationSeconds = 10, connections = 4, formats = ["wav", "mp3"] } = options;
  const config = loadConfig({ env: {}, overrides: { dataDir: path.join(os.tmpdir(), "chorus-bench-load"), log: { level: "silent" } } });
  const host = createHost(config, { log: pino({ level: "silent" }) });
  const app = await buildApp(host);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const results: LoadResult[] = [];
  try {
    for (const format of formats) {
      const body = JSON.stringify({ model: "tts-1", voice: "alloy", input: INPUT, response_format: format });
      // Warm-up: loads the engine and starts ffmpeg once, so the first timed request is not a cold start.
      const warm = await fetch(`${url}/v1/audio/speech`, { method: "POST", headers: { "content-type": "application/json" }, body });
      if (!warm.ok) throw new Error(`warm-up failed: ${warm.status} ${await warm.text()}`);
      await warm.arrayBuffer();
      global.gc?.();
      const before = process.memoryUsage();
      const run = await autocannon({
        url: `${url}/v1/audio/speech`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections,
        duration: durationSeconds,
        timeout: 30,
      });
      global.gc?.();
      const after = process.memoryUsage();
      results.push({
        format,
        requests: run.requests.total,
        rps: run.requests.average,
        p50Ms: run.latency.p50,
        p99Ms: run.latency.p99,
        errors: run.errors + run.timeouts + run.non2xx,
        rssBeforeMb: mb(before.rss),
        rssAfterMb: mb(after.rss),
        heapBeforeMb: mb(before.heapUsed),
        heapAfterMb: mb(after.heapUsed),
      });
    }
  } finally {
    await app.close();
    await host.close();
  }
  console.log(`\nload: POST /v1/audio/speech, eSpeak NG, ${connections} connections, ${durationSeconds} s per format, ${os.cpus().length} CPUs`);
  console.log(
    table([
      ["format", "requests", "req/s", "p50 ms", "p99 ms", "errors", "RSS before MB", "RSS after MB", "heap before MB", "heap after MB"],
      ...results.map((r) => [r.format, r.requests, fmt(r.rps, 1), fmt(r.p50Ms, 0), fmt(r.p99Ms, 0), r.errors, fmt(r.rssBeforeMb, 0), fmt(r.rssAfterMb, 0), fmt(r.heapBeforeMb, 1), fmt(r.heapAfterMb, 1)]),
    ]),
  );
  return results;
}

// `tsx tests/bench/load.ts` runs it on its own.
if (import.meta.url === `file://${process.argv[1]}`) await benchLoad();
