/**
 * Load test (issue 6): autocannon against POST /v1/audio/speech with eSpeak NG, `wav` and `mp3`:
 * requests per second, p50/p99 latency, errors (target 0) and the server's memory before and
 * after, in interleaved rounds (the mp3/wav ratio is per round), and the first byte of each. The server runs in this process on 127.0.0.1 (random port); runs are bounded in time.
 * Called from `npm run bench` as `benchLoad()`.
 */
import http from "node:http";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import pino from "pino";
import { loadConfig } from "../../core/config/load.ts";
import { createHost } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { audioWatcher } from "./first-audio.ts";
import { median } from "./stats.ts";

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

/** Milliseconds to the first audio byte (past the WAV header) and to the end of one streamed request. */
function firstByte(url: string, body: string, format: string): Promise<{ firstMs: number; totalMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstMs = NaN;
    const audio = audioWatcher(format);
    const req = http.request(`${url}/v1/audio/speech`, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      res.on("data", (d: Buffer) => {
        if (Number.isNaN(firstMs) && audio.push(d)) firstMs = performance.now() - started;
      });
      res.on("end", () =>
        res.statusCode === 200 ? resolve({ firstMs, totalMs: performance.now() - started }) : reject(new Error(`status ${res.statusCode}`)),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

export async function benchLoad(
  options: { durationSeconds?: number; connections?: number; formats?: ("wav" | "mp3")[]; rounds?: number } = {},
): Promise<LoadResult[]> {
  const { durationSeconds = 3, connections = 4, formats = ["wav", "mp3"], rounds = 3 } = options;
  const config = loadConfig({ env: {}, overrides: { dataDir: path.join(os.tmpdir(), "chorus-bench-load"), log: { level: "silent" } } });
  const host = createHost(config, { log: pino({ level: "silent" }) });
  const app = await buildApp(host);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const results: LoadResult[] = [];
  const first: Record<string, number[]> = {};
  const bodyOf = (format: string) => JSON.stringify({ model: "tts-1", voice: "alloy", input: INPUT, response_format: format });
  try {
    for (const format of formats) {
      // Warm-up: loads the engine and starts the encoder threads, so no timed request is a cold start.
      for (let i = 0; i < 3; i++) await firstByte(url, bodyOf(format), format);
    }
    // First bytes: single requests on an idle server, formats interleaved.
    for (let i = 0; i < 15; i++) for (const format of formats) (first[format] ??= []).push((await firstByte(url, bodyOf(format), format)).firstMs);
    // Throughput: rounds of `durationSeconds` per format, alternating which goes first.
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? [...formats].reverse() : formats;
      for (const format of order) {
        global.gc?.();
        const before = process.memoryUsage();
        const run = await autocannon({
          url: `${url}/v1/audio/speech`,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: bodyOf(format),
          connections,
          duration: durationSeconds,
          timeout: 30,
        });
        global.gc?.();
        const after = process.memoryUsage();
        results.push({
          format,
          requests: run.requests.total,
          rps: run.requests.total / durationSeconds,
          p50Ms: run.latency.p50,
          p99Ms: run.latency.p99,
          errors: run.errors + run.timeouts + run.non2xx,
          rssBeforeMb: mb(before.rss),
          rssAfterMb: mb(after.rss),
          heapBeforeMb: mb(before.heapUsed),
          heapAfterMb: mb(after.heapUsed),
        });
      }
    }
  } finally {
    await app.close();
    await host.close();
    agent.destroy(); // its keep-alive sockets would keep `npm run bench` alive
  }
  const byFormat = (format: string) => results.filter((r) => r.format === format);
  console.log(
    `\nload: POST /v1/audio/speech, eSpeak NG, ${connections} connections; method: ${rounds} rounds x ${durationSeconds} s per format, formats alternating; ${os.cpus().length} CPUs`,
  );
  console.log(
    table([
      ["round", "format", "requests", "req/s", "p50 ms", "p99 ms", "errors", "RSS before MB", "RSS after MB", "heap before MB", "heap after MB"],
      ...results.map((r, i) => [
        Math.floor(i / formats.length) + 1,
        r.format,
        r.requests,
        fmt(r.rps, 1),
        fmt(r.p50Ms, 0),
        fmt(r.p99Ms, 0),
        r.errors,
        fmt(r.rssBeforeMb, 0),
        fmt(r.rssAfterMb, 0),
        fmt(r.heapBeforeMb, 1),
        fmt(r.heapAfterMb, 1),
      ]),
    ]),
  );
  if (formats.includes("wav") && formats.includes("mp3")) {
    const ratios = byFormat("mp3").map((r, i) => r.rps / byFormat("wav")[i]!.rps);
    const ratio = median(ratios);
    const wavFirst = median(first.wav!);
    const mp3First = median(first.mp3!);
    const errors = results.reduce((n, r) => n + r.errors, 0);
    console.log(
      `load: mp3/wav throughput per round ${ratios.map((r) => fmt(r, 2)).join(", ")}; median ${fmt(ratio, 2)} (target >= 0.80) ${ratio >= 0.8 ? "OK" : "MISSED"}`,
    );
    console.log(
      `load: first audio byte, past the WAV header (idle server, 15 interleaved requests each, median) wav ${fmt(wavFirst, 1)} ms, mp3 ${fmt(mp3First, 1)} ms; mp3 - wav ${fmt(mp3First - wavFirst, 1)} ms (target <= 20) ${mp3First - wavFirst <= 20 ? "OK" : "MISSED"}`,
    );
    console.log(`load: errors ${errors} (target 0) ${errors === 0 ? "OK" : "MISSED"}`);
  }
  return results;
}

// `tsx tests/bench/load.ts` runs it on its own.
if (import.meta.url === `file://${process.argv[1]}`) await benchLoad();
