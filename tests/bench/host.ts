/**
 * Host benchmarks (issue 2), measured side by side in one run:
 * - host overhead: a 10-sentence paragraph through POST /api/speech vs the same engine
 *   called directly in-process (median ratio, target <= 1.05);
 * - event loop: GET /health latency p99 while two long syntheses run (target <= 20 ms);
 * - the eSpeak NG engine (warm) vs the native `espeak-ng` program on the same paragraph.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import espeakPlugin from "../../engines/espeak/index.ts";
import { ManifestSchema } from "../../core/registry/manifest-schema.ts";
import type { Engine } from "../../packages/sdk/src/index.ts";
import { splitSentences } from "../../core/text/sentences.ts";
import { startServer } from "../helpers/process.ts";
import { fmt, httpRequest, median, percentile, table } from "./stats.ts";

const PARAGRAPH = [
  "The committee met on Tuesday to review the proposal in detail.",
  "Several members raised concerns about the budget and the schedule.",
  "After a long discussion, they agreed to ask for a revised estimate.",
  "The engineers promised an answer within two weeks.",
  "Meanwhile, the pilot project will continue as planned.",
  "Early results from the field trials look encouraging.",
  "Battery life improved by almost thirty percent over the previous model.",
  "Users also reported fewer dropped connections in crowded places.",
  "A final decision is expected at the next quarterly meeting.",
  "Until then, the team will keep collecting feedback from customers.",
].join(" ");

const espeakManifest = ManifestSchema.parse(JSON.parse(fs.readFileSync(new URL("../../engines/espeak/plugin.json", import.meta.url), "utf8")));

async function directEngine(): Promise<Engine> {
  const manifest = espeakManifest;
  const engine = await espeakPlugin.create({ manifest });
  const noop = () => {};
  await engine.load({ profile: manifest.resources.profiles[0]!, device: { kind: "cpu", index: 0, simulated: false }, pluginDir: "", settings: {}, dataDir: os.tmpdir(), log: { debug: noop, info: noop, warn: noop, error: noop }, reportMemory: noop });
  return engine;
}

/** What the pipeline does, minus HTTP and the worker: split (if the host splits) and synthesise. */
async function synthesizeDirect(engine: Engine, text: string): Promise<number> {
  let samples = 0;
  const signal = new AbortController().signal;
  const hostSplits = espeakManifest.capabilities.sentenceSplitting === "host";
  for (const sentence of hostSplits ? splitSentences(text) : [text]) {
    for await (const chunk of engine.synthesize({ text: sentence, voice: "en-us", speed: 1, pitch: 1, options: {} }, signal)) samples += chunk.samples.length;
  }
  return samples;
}

function nativeEspeak(): string | undefined {
  const found = spawnSync("espeak-ng", ["--version"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

export async function benchHost(rounds = 15): Promise<Record<string, number>> {
  // The server runs as users run it: its own `chorus serve` process.
  const server = await startServer({ CHORUS_DATA_DIR: path.join(os.tmpdir(), "chorus-bench"), CHORUS_LOG__LEVEL: "warn" });
  const url = server.url;
  const speech = async (text: string) => {
    const res = await httpRequest(`${url}/api/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text }) });
    if (res.status !== 200) throw new Error(`speech failed: ${res.status} ${res.body.toString()}`);
    return res.body.length;
  };
  const engine = await directEngine();

  // Warm both paths.
  await speech(PARAGRAPH);
  await synthesizeDirect(engine, PARAGRAPH);

  // 1. Host overhead, interleaved so that machine noise hits both alike.
  const viaHttp: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await speech(PARAGRAPH);
    viaHttp.push(performance.now() - t);
    t = performance.now();
    await synthesizeDirect(engine, PARAGRAPH);
    direct.push(performance.now() - t);
  }
  const overhead = median(viaHttp) / median(direct);

  // 2. Event loop: /health while two long syntheses run. The long requests come from curl
  // processes, so that receiving their audio does not delay this process's own timing.
  const long = Array.from({ length: 4 }, () => PARAGRAPH).join(" ");
  const healthMs: number[] = [];
  let running = true;
  const curl = () =>
    new Promise<void>((resolve, reject) =>
      execFile("curl", ["-sf", "-o", "/dev/null", "-H", "content-type: application/json", "-d", JSON.stringify({ text: long }), `${url}/api/speech`], (err) => (err ? reject(err) : resolve())),
    );
  const syntheses = Promise.all([curl(), curl()]).finally(() => (running = false));
  while (running) {
    const t = performance.now();
    await httpRequest(`${url}/health`);
    healthMs.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 5));
  }
  await syntheses;

  // 3. Warm engine vs the native program on the same paragraph.
  const native = nativeEspeak();
  let nativeRatio = NaN;
  let nativeMs = NaN;
  if (native) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chorus-bench-"));
    const textFile = path.join(dir, "p.txt");
    fs.writeFileSync(textFile, PARAGRAPH);
    const nativeRuns: number[] = [];
    const engineRuns: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let t = performance.now();
      execFileSync("espeak-ng", ["-v", "en-us", "-w", path.join(dir, "o.wav"), "-f", textFile]);
      nativeRuns.push(performance.now() - t);
      t = performance.now();
      await synthesizeDirect(engine, PARAGRAPH);
      engineRuns.push(performance.now() - t);
    }
    nativeMs = median(nativeRuns);
    nativeRatio = median(engineRuns) / nativeMs;
  }

  await engine.unload();
  await server.stop();

  console.log(`\n== Host (issues 2, 15): eSpeak NG, 10-sentence paragraph; method: same text and engine, POST /api/speech to a \`chorus serve\` process vs the engine called in this process, interleaved, ${rounds} rounds, medians ==`);
  console.log(table([
    ["figure", "value", "target"],
    ["POST /api/speech median ms", fmt(median(viaHttp), 1), ""],
    ["in-process engine median ms", fmt(median(direct), 1), ""],
    ["host overhead ratio (HTTP / in-process)", fmt(overhead, 3), `<= 1.02 ${overhead <= 1.02 ? "OK" : "MISSED"}`],
    ["/health p99 ms during 2 long syntheses", fmt(percentile(healthMs, 99), 2), "<= 20"],
    [`/health samples`, String(healthMs.length), ""],
    [native ? `warm engine / native (${native.split(" ").slice(0, 3).join(" ")}), native median ${fmt(nativeMs, 1)} ms` : "warm engine / native espeak-ng", native ? fmt(nativeRatio, 3) : "not installed (npm run bench:setup)", native ? `<= 1.10 ${nativeRatio <= 1.1 ? "OK" : "MISSED"}` : "<= 1.10"],
  ]));
  return { overhead, healthP99Ms: percentile(healthMs, 99), nativeRatio };
}
