/**
 * Fairness (issue 15), `npm run bench -- fairness`: a 1-sentence request arrives while a
 * 100-sentence request streams from the same engine (Flite, one instance of one copy:
 * `engines.cpuReplicas` 1, so that the turns are what is measured, on any machine).
 * Streamed over POST /api/speech (pcm). Measured: the short request's wait (arrival to its last byte), against the long request's
 * median time per sentence and its total. Target: the short one waits about one sentence of
 * the long one (<= 3 sentence-times: the one running, its own, margin), not the long one's
 * remaining time. Method: in-process server, several rounds, the short one sent after the
 * long one's first audio at a different point of the long text each round; medians; then one
 * round with `scheduler.sentenceTurns: false` for comparison. Then the replicas' bench
 * (replicas.ts): the same engine's throughput with 1 vs 2 copies, and /health during it.
 */
import http from "node:http";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { loadConfig } from "../../core/config/load.ts";
import { createHost } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { fmt, median, table } from "./stats.ts";
import { TEN_SENTENCES } from "../helpers/texts.ts";
import { benchReplicas } from "./replicas.ts";

const SENTENCES = TEN_SENTENCES.slice(0, 4);
const LONG = Array.from({ length: 100 }, (_, i) => SENTENCES[i % SENTENCES.length]).join(" ");
const SHORT = "Your order has shipped.";

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** Streams one request; `onData` sees every chunk; resolves with the total time. */
function stream(url: string, input: string, onData?: (elapsedMs: number) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(`${url}/api/speech`, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        if (res.statusCode !== 200) body += d.toString();
        onData?.(performance.now() - started);
      });
      res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}: ${body}`))));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(JSON.stringify({ engine: "flite", voice: "slt", text: input, format: "pcm", stream: true }));
  });
}

async function measure(rounds: number, sentenceTurns: boolean) {
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: path.join(os.tmpdir(), "chorus-bench-fairness"),
      log: { level: "silent" },
      text: { maxLength: 20000 },
      scheduler: { sentenceTurns },
      engines: { cpuReplicas: 1 },
    },
  });
  const host = createHost(config, { log: pino({ level: "silent" }) });
  const app = await buildApp(host);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const waits: number[] = [];
  const alone: number[] = [];
  const perSentence: number[] = [];
  const longTotals: number[] = [];
  try {
    await stream(url, SHORT); // warm-up: loads the engine
    for (let round = 0; round < rounds; round++) {
      alone.push(await stream(url, SHORT));
      let chunks = 0;
      let shortDone: Promise<number> | undefined;
      const startAfter = 2 + round * 5; // chunks of the long one before the short one arrives
      const long = stream(url, LONG, () => {
        if (++chunks === startAfter) shortDone = stream(url, SHORT);
      });
      const total = await long;
      longTotals.push(total);
      perSentence.push(total / 100);
      if (!shortDone) throw new Error("the long request ended before the short one was sent");
      waits.push(await shortDone);
    }
  } finally {
    await app.close();
    await host.close();
    agent.destroy(); // its keep-alive sockets would keep `npm run bench` alive
  }
  return { shortWaitMs: median(waits), sentenceMs: median(perSentence), aloneMs: median(alone), longMs: median(longTotals) };
}

export async function benchFairness(rounds = 3) {
  const on = await measure(rounds, true);
  const off = await measure(1, false);
  const { shortWaitMs, sentenceMs } = on;
  const ratio = shortWaitMs / sentenceMs;
  console.log(
    `\nFairness: a 1-sentence request during a 100-sentence one, same engine (Flite, one copy); method: ${rounds} rounds, in-process server, medians`,
  );
  console.log(
    table([
      ["figure", "value", "target"],
      ["short request alone ms", fmt(on.aloneMs, 1), ""],
      ["long request total ms", fmt(on.longMs, 0), ""],
      ["long request ms per sentence", fmt(sentenceMs, 1), ""],
      ["short request wait during the long one ms", fmt(shortWaitMs, 1), "about one sentence of the long one"],
      ["short wait / long sentence time", fmt(ratio, 2), `<= 3 ${ratio <= 3 ? "OK" : "MISSED"}`],
      [
        "for comparison, scheduler.sentenceTurns=false (1 round): short wait ms",
        fmt(off.shortWaitMs, 0),
        `(${fmt(off.shortWaitMs / off.sentenceMs, 0)} sentence-times)`,
      ],
    ]),
  );
  const replicas = await benchReplicas();
  return { shortWaitMs, sentenceMs, ratio, replicas };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchFairness();
