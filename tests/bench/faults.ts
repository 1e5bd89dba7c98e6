/**
 * `npm run bench -- faults` (issue 11): the fault and fuzz campaign as a benchmark, against a
 * real `chorus serve` on 127.0.0.1, bounded in count and time. Phases:
 * - fuzz: FAULTS_FUZZ (2000) seeded malformed requests over every route;
 * - crash: FAULTS_CRASH (12) streams whose engine worker dies mid-stream (kill -9 of a child
 *   process, or a worker thread ending itself), each checked for all sentences;
 * - hot swap: 10 plugin version edits under 10 streaming clients;
 * - memory: plugins allocating without bound: JS heap (worker thread), Buffers in a child
 *   process, Buffers in a worker thread (one per chunk; on a timer; in a synchronous loop that
 *   only the server's RSS ceiling, FAULTS_CEILING_MB (1024), can stop), then espeak speaks;
 *   the server's peak RSS (VmHWM) against the ceiling.
 * Then: zombie children of the server, its RSS before and after. Prints one table.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { request as fuzzRequest } from "../fuzz/arbitraries.ts";
import { startServer } from "../helpers/process.ts";
import { table } from "./stats.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FUZZ = Number(process.env.FAULTS_FUZZ ?? 2000);
const CRASH = Number(process.env.FAULTS_CRASH ?? 12);
const CEILING_MB = Number(process.env.FAULTS_CEILING_MB ?? 1024);
const SENTENCES = ["One two three.", "Four five six.", "Now Crash here.", "Seven eight nine.", "Ten and done."];
const FULL_SECONDS = SENTENCES.length * 0.3;

interface Row {
  phase: string;
  requests: number;
  statuses: Map<string, number>;
  fivexx: number;
  lost: number;
  note: string;
}
const row = (phase: string): Row => ({ phase, requests: 0, statuses: new Map(), fivexx: 0, lost: 0, note: "" });
const count = (r: Row, status: number | string) => {
  r.requests++;
  r.statuses.set(String(status), (r.statuses.get(String(status)) ?? 0) + 1);
  if (typeof status === "number" && status >= 500) r.fivexx++;
};

function procStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { state: f[0]!, ppid: Number(f[1]) };
  } catch {
    return undefined;
  }
}
const zombiesOf = (pid: number) =>
  fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n) && procStat(Number(n))?.ppid === pid && procStat(Number(n))?.state === "Z").length;
const rssMb = (pid: number, field = "VmRSS") => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

async function until(what: string, probe: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function readAll(res: Response): Promise<{ ok: boolean; bytes: number }> {
  let bytes = 0;
  try {
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) bytes += c.length;
    return { ok: true, bytes };
  } catch {
    return { ok: false, bytes };
  }
}

export async function benchFaults(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "chorus-bench-faults-"));
  const faultDir = path.join(work, "fault");
  const plugins = path.join(work, "plugins");
  fs.mkdirSync(faultDir);
  fs.mkdirSync(plugins);
  fs.cpSync(path.join(ROOT, "tests/hotswap/fixtures/tone"), path.join(plugins, "tone"), { recursive: true });
  const server = await startServer({
    CHORUS_DATA_DIR: path.join(work, "data"),
    CHORUS_ENGINES__DIRS: JSON.stringify(["engines", "tests/faults/fixtures", plugins]),
    CHORUS_ENGINES__SETTINGS: JSON.stringify({ "fault-thread": { faultDir }, "fault-child": { faultDir } }),
    CHORUS_ENGINES__MEMORY__MARGIN_MB: "32",
    CHORUS_ENGINES__MEMORY__POLL_MS: "20",
    CHORUS_ENGINES__MEMORY__SERVER_CEILING_MB: String(CEILING_MB),
    CHORUS_SCHEDULER__DEVICES__GPUS: "off",
    CHORUS_LOG__LEVEL: "warn",
    CHORUS_TEXT__MAX_LENGTH: "500",
  });
  const pid = server.process.pid!;
  const rssBefore = rssMb(pid);
  const rows: Row[] = [];
  const started = Date.now();
  try {
    // 1. fuzz
    const fuzz = row("fuzz (malformed)");
    rows.push(fuzz);
    for (const { route, body, query, param, headers } of fc.sample(fuzzRequest, { seed: 11, numRuns: FUZZ })) {
      const url = `${server.url}${route.path.replace(":id", param).replace(":file", param)}${query}`;
      try {
        const res = await fetch(url, {
          method: route.method,
          body: route.method === "GET" ? undefined : (body.payload as BodyInit | undefined),
          headers: { ...headers, ...(body.contentType ? { "content-type": body.contentType } : {}) },
        });
        count(fuzz, res.status);
        await res.arrayBuffer().catch(() => undefined);
      } catch {
        count(fuzz, "refused by client");
      }
    }

    // 2. crash mid-stream
    const crash = row("kill -9 mid-stream");
    rows.push(crash);
    let whole = 0;
    let visible = 0;
    for (let i = 0; i < CRASH; i++) {
      const engine = i % 2 ? "fault-thread" : "fault-child";
      fs.rmSync(path.join(faultDir, "pid"), { force: true });
      fs.writeFileSync(path.join(faultDir, "arm"), "");
      if (engine === "fault-thread") fs.writeFileSync(path.join(faultDir, "self-exit"), "");
      const sent = fetch(`${server.url}/api/speech`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: SENTENCES.join(" "), engine, format: "pcm", stream: true, fallback: false }),
      });
      if (engine === "fault-child") {
        await until("the child's pid", () => fs.existsSync(path.join(faultDir, "pid")) && fs.readFileSync(path.join(faultDir, "pid"), "utf8") !== "");
        process.kill(Number(fs.readFileSync(path.join(faultDir, "pid"), "utf8")), "SIGKILL");
      }
      const res = await sent;
      const got = await readAll(res);
      fs.rmSync(path.join(faultDir, "self-exit"), { force: true });
      count(crash, res.status);
      const seconds = got.bytes / 2 / 16000;
      if (got.ok && Math.abs(seconds - FULL_SECONDS) / FULL_SECONDS <= 0.1) whole++;
      else if (!got.ok) visible++;
      else crash.lost += Math.round((FULL_SECONDS - seconds) / 0.3); // a short, cleanly ended 200
    }
    crash.note = `${whole} whole, ${visible} visible failures`;

    // 3. hot swap under streaming
    const swap = row("hot swap x10 under 10 streams");
    rows.push(swap);
    const streams = Array.from({ length: 10 }, (_, i) =>
      fetch(`${server.url}/api/speech`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "one two three four five six seven eight", engine: "tone", format: "pcm", stream: true, options: { delayMs: 40 + i } }),
      }).then(async (res) => ({ status: res.status, got: await readAll(res) })),
    );
    const manifestFile = path.join(plugins, "tone", "plugin.json");
    for (let v = 1; v <= 10; v++) {
      fs.writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifestFile, "utf8")), version: `1.${v}.0` }, null, 2));
      await new Promise((r) => setTimeout(r, 150));
    }
    for (const s of await Promise.all(streams)) {
      count(swap, s.status);
      if (s.status === 200 && (!s.got.ok || s.got.bytes < 8 * 800 * 2)) swap.lost++;
    }

    // 4. memory
    const memory = row("unbounded allocation");
    rows.push(memory);
    const cases = [
      ["thread heap", "fault-thread", "Grow now."],
      ["child Buffers", "fault-child", "Grow now."],
      ["thread Buffers/chunk", "fault-thread", "Hoard now."],
      ["thread Buffers/timer", "fault-thread", "Stash now."],
      ["thread Buffers sync loop", "fault-thread", "Flood fast now."],
    ];
    for (const [what, engine, text] of cases) {
      const res = await fetch(`${server.url}/api/speech`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text, engine, format: "pcm", fallback: false }),
      });
      const error = res.status === 200 ? undefined : ((await res.json()) as { error?: { code?: string; message?: string } }).error;
      count(memory, res.status);
      const by = /ceiling/.test(error?.message ?? "")
        ? " (RSS ceiling)"
        : / limit of (\d+) MB/.exec(error?.message ?? "")?.[1]
          ? ` (at ${/ limit of (\d+) MB/.exec(error!.message!)![1]} MB)`
          : "";
      memory.note += `${what}: ${res.status} ${(error?.code ?? "").replace("CHORUS_ERR_", "")}${by}; `;
    }
    const espeak = await fetch(`${server.url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "Still here.", engine: "espeak", format: "pcm" }),
    });
    count(memory, espeak.status);
    await espeak.arrayBuffer();
    const health = await fetch(`${server.url}/health`);
    memory.note += `then espeak ${espeak.status}, /health ${health.status}; server peak RSS ${rssMb(pid, "VmHWM").toFixed(0)} MB (ceiling ${CEILING_MB})`;
  } finally {
    const alive = server.process.exitCode === null;
    await new Promise((r) => setTimeout(r, 300)); // let exited workers' processes be reaped
    const zombies = alive ? zombiesOf(pid) : NaN;
    const rssAfter = alive ? rssMb(pid) : NaN;
    const total = row("total");
    for (const r of rows) {
      for (const [k, v] of r.statuses) total.statuses.set(k, (total.statuses.get(k) ?? 0) + v);
      total.requests += r.requests;
      total.fivexx += r.fivexx;
      total.lost += r.lost;
    }
    total.note = `server crashes ${alive ? 0 : 1}, zombies ${zombies}, RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MB, ${((Date.now() - started) / 1000).toFixed(0)} s`;
    const hist = (m: Map<string, number>) =>
      [...m]
        .sort()
        .map(([k, v]) => `${k}:${v}`)
        .join(" ");
    console.log("\nFaults benchmark (loopback, `chorus serve`)");
    console.log(
      table([
        ["phase", "requests", "statuses", "5xx", "lost sentences", "notes"],
        ...[...rows, total].map((r) => [r.phase, r.requests, hist(r.statuses), r.fivexx, r.lost, r.note]),
      ]),
    );
    console.log(
      table([
        ["server crashes", "zombies", "RSS before (MB)", "RSS after (MB)"],
        [alive ? 0 : 1, zombies, rssBefore.toFixed(0), rssAfter.toFixed(0)],
      ]),
    );
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
