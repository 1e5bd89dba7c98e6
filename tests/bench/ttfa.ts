/**
 * Time to first audio (issue 15), `npm run bench -- ttfa`: for every engine and every format,
 * a 10-sentence text streamed over HTTP (POST /v1/audio/speech on an in-process server):
 * milliseconds to the first byte of audio past the container's header (TTFA) vs to the last byte (full
 * synthesis). Target: TTFA <= 10 % of the full time where the full time exceeds 200 ms.
 * Method: formats interleaved within each round, several rounds, medians. Piper uses the
 * generated benchmark voice (tests/fixtures/piper).
 */
import http from "node:http";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { AUDIO_FORMATS } from "../../core/audio/output/formats.ts";
import { closeEncoderPool } from "../../core/audio/encoders/index.ts";
import { loadConfig } from "../../core/config/load.ts";
import { createHost } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { ensureBenchVoice } from "../fixtures/piper/generate-voices.ts";
import { audioWatcher } from "./first-audio.ts";
import { fmt, median, table } from "./stats.ts";
import { PARAGRAPH } from "../helpers/texts.ts";

const TEXT = PARAGRAPH;

const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });

function timed(url: string, body: string, format: string): Promise<{ firstMs: number; totalMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstMs = NaN;
    const audio = audioWatcher(format);
    const req = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      let error = "";
      res.on("data", (d: Buffer) => {
        if (Number.isNaN(firstMs) && audio.push(d)) firstMs = performance.now() - started;
        if (res.statusCode !== 200) error += d.toString();
      });
      res.on("end", () =>
        res.statusCode === 200 ? resolve({ firstMs, totalMs: performance.now() - started }) : reject(new Error(`${res.statusCode} ${error}`)),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

export interface TtfaRow {
  engine: string;
  format: string;
  firstMs: number;
  totalMs: number;
  ratio: number;
  ok: boolean;
}

export async function benchTtfa(rounds = 5): Promise<TtfaRow[]> {
  const voice = ensureBenchVoice();
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: path.join(os.tmpdir(), "chorus-bench-ttfa"),
      log: { level: "silent" },
      engines: { settings: { piper: { voiceDirs: [path.dirname(voice)], watch: false } } },
    },
  });
  const host = createHost(config, { log: pino({ level: "silent" }) });
  const app = await buildApp(host);
  const base = await app.listen({ host: "127.0.0.1", port: 0 });
  const engines = ["espeak", "flite", "piper"];
  const voices: Record<string, string> = { espeak: "espeak:en-us", flite: "flite:slt", piper: `piper:${path.basename(voice, ".onnx")}` };
  const samples = new Map<string, { first: number[]; total: number[] }>();
  try {
    const request = (engine: string, format: string) =>
      timed(`${base}/v1/audio/speech`, JSON.stringify({ model: engine, voice: voices[engine], input: TEXT, response_format: format }), format);
    for (const engine of engines) for (const format of AUDIO_FORMATS) await request(engine, format); // warm-up: loads, encoder threads
    for (let round = 0; round < rounds; round++) {
      for (const engine of engines) {
        for (const format of AUDIO_FORMATS) {
          const r = await request(engine, format);
          const key = `${engine}|${format}`;
          const s = samples.get(key) ?? { first: [], total: [] };
          s.first.push(r.firstMs);
          s.total.push(r.totalMs);
          samples.set(key, s);
        }
      }
    }
  } finally {
    await app.close();
    await host.close();
    // What this bench opened, closed: its keep-alive sockets and the encoder threads (else
    // `npm run bench` stayed alive after its last table).
    agent.destroy();
    await closeEncoderPool();
  }
  const rows: TtfaRow[] = [...samples].map(([key, s]) => {
    const [engine, format] = key.split("|") as [string, string];
    const firstMs = median(s.first);
    const totalMs = median(s.total);
    const ratio = firstMs / totalMs;
    return { engine, format, firstMs, totalMs, ratio, ok: totalMs <= 200 || ratio <= 0.1 };
  });
  console.log(
    `\nTTFA: 10 sentences streamed over HTTP (POST /v1/audio/speech), first audio byte (past the header) vs last; method: ${rounds} rounds, engines x formats interleaved, medians`,
  );
  console.log(
    table([
      ["engine", "format", "first audio ms", "full ms", "first / full", "target", "result"],
      ...rows.map((r) => [
        r.engine,
        r.format,
        fmt(r.firstMs, 1),
        fmt(r.totalMs, 1),
        fmt(r.ratio, 3),
        r.totalMs > 200 ? "<= 0.10" : "(full <= 200 ms: n/a)",
        r.ok ? "OK" : "MISSED",
      ]),
    ]),
  );
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchTtfa();
