/**
 * Replicas (issue 15, item 3), part of `npm run bench -- fairness`: throughput of a CPU engine
 * run as 1 copy vs 2 copies (`engines.cpuReplicas` 1 and 2; Flite declares
 * `parallelism: "replicas"`), side by side: two in-process servers, the same requests (4
 * clients at once, a 4-sentence text, streamed pcm), rounds alternating which server goes
 * first; medians. Meanwhile GET /health is polled (one request, then 5 ms): its p99 shows
 * whether the engines' threads (nice +5) leave the event loop alone. Printed with the core
 * count and the load average: on a 2-core machine shared with other work, the second copy
 * has at most one spare core to use, and the gain is bounded by that.
 */
import http from "node:http";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { loadConfig } from "../../core/config/load.ts";
import { createHost, type Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { TEN_SENTENCES } from "../helpers/texts.ts";
import { fmt, median, percentile, table } from "./stats.ts";

const TEXT = TEN_SENTENCES.slice(0, 4).join(" ");
const CLIENTS = 4;

function post(agent: http.Agent, url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/api/speech`, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      res.on("data", () => {});
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function get(agent: http.Agent, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on("end", () => resolve());
      })
      .on("error", reject);
  });
}

async function server(replicas: number): Promise<{ host: Host; url: string; close(): Promise<void> }> {
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: path.join(os.tmpdir(), `chorus-bench-replicas-${replicas}`),
      log: { level: "silent" },
      engines: { cpuReplicas: replicas },
      scheduler: { keepAliveSeconds: -1 },
    },
  });
  const host = createHost(config, { log: pino({ level: "silent" }) });
  const app = await buildApp(host);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    host,
    url,
    close: async () => {
      await app.close();
      await host.close();
    },
  };
}

/** `requests` requests, CLIENTS at a time; /health polled throughout. Returns req/s and /health latencies. */
async function load(url: string, engine: string, requests: number, agent: http.Agent) {
  const body = JSON.stringify({ engine, text: TEXT, format: "pcm", stream: true });
  let left = requests;
  let running = true;
  const health: number[] = [];
  const poll = (async () => {
    while (running) {
      const t = performance.now();
      await get(agent, `${url}/health`);
      health.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5)); // a probe, not a load of its own
    }
  })();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (left-- > 0) await post(agent, url, body);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  running = false;
  await poll;
  return { rps: requests / seconds, health };
}

export async function benchReplicas(engine = "flite", rounds = 3, requests = 24) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS + 2 });
  const servers = [await server(1), await server(2)];
  const rps: number[][] = [[], []];
  const health: number[][] = [[], []];
  const loadBefore = os.loadavg()[0]!;
  try {
    for (const s of servers) await post(agent, s.url, JSON.stringify({ engine, text: TEXT, format: "pcm" })); // loads the engine
    for (const s of servers) await load(s.url, engine, CLIENTS, agent); // every copy warm
    const copies = servers.map((s) => s.host.scheduler.snapshot(0).engines.find((e) => e.engine === engine)?.replicas ?? 0);
    for (let round = 0; round < rounds; round++) {
      for (const i of round % 2 ? [1, 0] : [0, 1]) {
        const r = await load(servers[i]!.url, engine, requests, agent);
        rps[i]!.push(r.rps);
        health[i]!.push(...r.health);
      }
    }
    const [one, two] = [median(rps[0]!), median(rps[1]!)];
    console.log(
      `\nReplicas: ${engine}, 1 copy vs 2 copies (engines.cpuReplicas 1 / 2: ${copies.join(" / ")} loaded), ${CLIENTS} clients at once, ${requests} requests of 4 sentences per round, ${rounds} rounds alternating, medians; ` +
        `${os.availableParallelism()} cores, load average ${fmt(loadBefore, 2)} before, ${fmt(os.loadavg()[0]!, 2)} after`,
    );
    console.log(
      table([
        ["figure", "1 copy", "2 copies", "note"],
        ["requests/s", fmt(one, 2), fmt(two, 2), `2 copies / 1 copy ${fmt(two / one, 2)} (bounded by the spare cores)`],
        ["requests/s per round", rps[0]!.map((v) => fmt(v, 2)).join(" "), rps[1]!.map((v) => fmt(v, 2)).join(" "), ""],
        [
          "/health p99 ms during the load",
          fmt(percentile(health[0]!, 99), 2),
          fmt(percentile(health[1]!, 99), 2),
          `<= 20 ${Math.max(percentile(health[0]!, 99), percentile(health[1]!, 99)) <= 20 ? "OK" : "MISSED"}`,
        ],
        ["/health samples", String(health[0]!.length), String(health[1]!.length), ""],
      ]),
    );
    return { oneRps: one, twoRps: two, ratio: two / one, healthP99Ms: Math.max(percentile(health[0]!, 99), percentile(health[1]!, 99)) };
  } finally {
    for (const s of servers) await s.close();
    agent.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchReplicas();
