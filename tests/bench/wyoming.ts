/**
 * Wyoming benchmarks (issue 17), against `chorus wyoming` in its own process:
 * - describe -> info latency on fresh connections, as Home Assistant asks (its budget: 1 s),
 *   idle and while two long syntheses run;
 * - non-streamed synthesize of a paragraph (eSpeak NG): time to the first audio-chunk, total;
 * - streaming: time from the chunk that completes the first sentence to that sentence's audio.
 */
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { CHORUS_BIN } from "../helpers/process.ts";
import { WyomingClient } from "../wyoming/client.ts";
import { fmt, median, percentile, table } from "./stats.ts";

const PARAGRAPH = Array.from({ length: 10 }, (_, i) => `This is sentence number ${i + 1} of a paragraph read to a Home Assistant speaker.`).join(" ");

async function describeMs(port: number): Promise<number> {
  const started = performance.now();
  const client = await WyomingClient.connect(port);
  client.send("describe");
  await client.until("info");
  client.close();
  return performance.now() - started;
}

async function synthesizeTimes(port: number, text: string): Promise<{ first: number; total: number; audio: number }> {
  const started = performance.now();
  const client = await WyomingClient.connect(port);
  client.send("synthesize", { text, voice: { name: "espeak:en-us" } });
  await client.until("audio-chunk");
  const first = performance.now() - started;
  const events = await client.until("audio-stop");
  const total = performance.now() - started;
  client.close();
  const samples = events.reduce((n, e) => n + (e.payload?.length ?? 0) / 2, 0);
  return { first, total, audio: samples / 22050 };
}

async function streamFirstAudioMs(port: number): Promise<number> {
  const client = await WyomingClient.connect(port);
  client.send("synthesize-start", { voice: { name: "espeak:en-us" } });
  client.send("synthesize-chunk", { text: "The weather today is sunny with a light" });
  const started = performance.now();
  client.send("synthesize-chunk", { text: " breeze. Tomorrow" });
  await client.until("audio-chunk");
  const ms = performance.now() - started;
  client.send("synthesize-stop");
  await client.until("synthesize-stopped");
  client.close();
  return ms;
}

export async function benchWyoming(rounds = 30): Promise<Record<string, number>> {
  const child = spawn(process.execPath, [CHORUS_BIN, "wyoming", "--port", "0"], {
    env: { ...process.env, CHORUS_DATA_DIR: path.join(os.tmpdir(), "chorus-bench-wyoming"), CHORUS_LOG__LEVEL: "warn" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  try {
    let port = 0;
    while (!port) {
      port = Number(/Wyoming server on tcp:\/\/[^:]+:(\d+)/.exec(stderr)?.[1] ?? 0);
      if (child.exitCode !== null) throw new Error(`chorus wyoming exited:\n${stderr}`);
      if (!port) await new Promise((r) => setTimeout(r, 50));
    }
    await synthesizeTimes(port, "Warm up."); // engine loaded
    const idle: number[] = [];
    for (let i = 0; i < rounds; i++) idle.push(await describeMs(port));
    const busy: number[] = [];
    const load = Promise.all([synthesizeTimes(port, PARAGRAPH), synthesizeTimes(port, PARAGRAPH)]);
    for (let i = 0; i < rounds; i++) busy.push(await describeMs(port));
    await load;
    const synth = [];
    for (let i = 0; i < 5; i++) synth.push(await synthesizeTimes(port, PARAGRAPH));
    const streamed: number[] = [];
    for (let i = 0; i < 5; i++) streamed.push(await streamFirstAudioMs(port));
    const result = {
      describeP50Ms: median(idle),
      describeP99Ms: percentile(idle, 99),
      describeBusyP99Ms: percentile(busy, 99),
      firstChunkMs: median(synth.map((s) => s.first)),
      totalMs: median(synth.map((s) => s.total)),
      audioSeconds: median(synth.map((s) => s.audio)),
      streamFirstAudioMs: median(streamed),
    };
    console.log("\nWyoming (chorus wyoming, eSpeak NG, fresh connection per call)");
    console.log(
      table([
        ["measure", "value", "target"],
        ["describe -> info p50 / p99 (ms)", `${fmt(result.describeP50Ms, 1)} / ${fmt(result.describeP99Ms, 1)}`, "< 1000 (Home Assistant's timeout)"],
        ["describe p99 during 2 syntheses (ms)", fmt(result.describeBusyP99Ms, 1), "< 1000"],
        ["synthesize 10 sentences: first chunk / all (ms)", `${fmt(result.firstChunkMs, 0)} / ${fmt(result.totalMs, 0)}`, ""],
        ["audio produced (s), real-time factor", `${fmt(result.audioSeconds, 1)}, ${fmt(result.totalMs / 1000 / result.audioSeconds, 3)}`, ""],
        ["streaming: sentence complete -> its first audio (ms)", fmt(result.streamFirstAudioMs, 0), ""],
      ]),
    );
    return result;
  } finally {
    child.kill("SIGTERM");
  }
}
