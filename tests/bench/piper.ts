/**
 * Piper benchmark (issue 4), for `npm run bench -- piper`: the engine's whole synthesis of a paragraph
 * (phonemization, one inference per sentence, normalisation) against bare onnxruntime-node
 * `session.run` calls on the same ids and model with the same session options, and the
 * phonemization time per sentence. Runs in-process; the model defaults to the generated
 * medium-sized benchmark voice (tests/fixtures/piper), built on first use.
 */
import path from "node:path";
import ort from "onnxruntime-node";
import type { AudioChunk, EngineLogger } from "chorus/sdk";
import { PiperEngine } from "../../engines/piper/index.ts";
import { sessionOptions } from "../../engines/piper/onnx-voice.ts";
import { phonemizeForVoice } from "../../engines/piper/phoneme-ids.ts";
import { EspeakPhonemizer } from "../../engines/piper/phonemizer.ts";
import { readVoiceConfig } from "../../engines/piper/voice-config.ts";
import { ensureBenchVoice } from "../fixtures/piper/generate-voices.ts";
import { fmt, table } from "./stats.ts";

export interface PiperBenchOptions {
  /** NAME.onnx of the voice to time (its .onnx.json next to it). Default: the generated benchmark voice. */
  modelPath?: string;
  /** onnxruntime intra-op threads for both sides (0 = onnxruntime's default). */
  threads?: number;
  /** Timed repetitions per side (median taken). */
  repetitions?: number;
  text?: string;
}

export interface PiperBenchResult {
  /** Median engine time / median bare session.run time for the same paragraph (target <= 1.05). */
  engineVsBareOrtRatio: number;
  /** Phonemization time per sentence within a paragraph, ms. */
  phonemizeMsPerSentence: number;
  /** Phonemization of one short sentence on its own (one piper-phonemize call), ms. */
  phonemizeMsSingleSentence: number;
  engineMs: number;
  bareOrtMs: number;
  sentences: number;
  audioSeconds: number;
  /** Engine time / audio duration. */
  realTimeFactor: number;
}

export const BENCH_TEXT = [
  "The old lighthouse keeper climbed the spiral stairs every evening at dusk.",
  "He had done it for thirty-two years, through storms, fog and the occasional heat wave.",
  "On the night of March 3rd, 1987, the lamp failed for the first time.",
  "Ships passed safely anyway; the moon was full and the sea was calm.",
  "Still, he wrote a long report, and the inspector read every word of it.",
  "Nobody remembers what it said, but the lamp never failed again.",
].join(" ");

const silentLog: EngineLogger = { debug() {}, info() {}, warn() {}, error() {} };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchPiper(options: PiperBenchOptions = {}): Promise<PiperBenchResult> {
  const modelPath = path.resolve(options.modelPath ?? ensureBenchVoice());
  const voice = path.basename(modelPath, ".onnx");
  const config = readVoiceConfig(`${modelPath}.json`);
  const threads = options.threads ?? 0;
  const repetitions = options.repetitions ?? 5;
  const text = options.text ?? BENCH_TEXT;

  const engine = new PiperEngine();
  await engine.load({
    profile: { name: "cpu", device: "cpu", precision: "fp32", vramMb: 0, transientVramMb: 0, ramMb: 0, loadSeconds: 1, maxParallel: 1, parallelism: "shared" },
    device: { kind: "cpu", index: 0, simulated: false },
    reportMemory: () => {},
    pluginDir: path.resolve(import.meta.dirname, "../../engines/piper"),
    settings: { voiceDirs: [path.dirname(modelPath)], threads, sentenceSilenceSeconds: 0, watch: false },
    dataDir: path.resolve("var"),
    log: silentLog,
  });
  const scales = { noiseScale: config.inference.noise_scale, lengthScale: config.inference.length_scale, noiseW: config.inference.noise_w };
  const request = { text, voice, speed: 1, pitch: 1, options: {} };
  const session = await ort.InferenceSession.create(
    modelPath,
    sessionOptions({ threads, interOpThreads: 0, graphOptimization: "all", spinWait: false, cuda: false, cudaDeviceId: 0 }, "cpu"),
  );
  const phonemizer = new EspeakPhonemizer();
  await phonemizer.init();
  try {
    const sentences = (await phonemizeForVoice(phonemizer, text, config)).filter((s) => s.phonemes.length > 0);
    const bare = async () => {
      for (const { phoneme_ids: ids } of sentences) {
        const out = await session.run({
          input: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
          input_lengths: new ort.Tensor("int64", BigInt64Array.of(BigInt(ids.length)), [1]),
          scales: new ort.Tensor("float32", Float32Array.of(scales.noiseScale, scales.lengthScale, scales.noiseW), [3]),
        });
        void out.output!.data;
      }
    };
    let audioSamples = 0;
    const viaEngine = async () => {
      audioSamples = 0;
      for await (const chunk of engine.synthesize(request, new AbortController().signal) as AsyncIterable<AudioChunk>) audioSamples += chunk.samples.length;
    };
    await viaEngine();
    await bare();
    const engineTimes: number[] = [];
    const bareTimes: number[] = [];
    for (let i = 0; i < repetitions; i++) {
      // Interleaved, alternating which goes first, so drift affects both sides alike.
      for (const side of i % 2 ? ["bare", "engine"] : ["engine", "bare"]) {
        const t = performance.now();
        await (side === "engine" ? viaEngine() : bare());
        (side === "engine" ? engineTimes : bareTimes).push(performance.now() - t);
      }
    }
    let t = performance.now();
    const rounds = 10;
    for (let i = 0; i < rounds; i++) await phonemizer.phonemize(text, config.espeak.voice);
    const phonemizeMsPerSentence = (performance.now() - t) / rounds / sentences.length;
    t = performance.now();
    for (let i = 0; i < rounds; i++) await phonemizer.phonemize("The quick brown fox jumps over the lazy dog.", config.espeak.voice);
    const phonemizeMsSingleSentence = (performance.now() - t) / rounds;
    const engineMs = median(engineTimes);
    const bareOrtMs = median(bareTimes);
    const audioSeconds = audioSamples / config.audio.sample_rate;
    return {
      engineVsBareOrtRatio: engineMs / bareOrtMs,
      phonemizeMsPerSentence,
      phonemizeMsSingleSentence,
      engineMs,
      bareOrtMs,
      sentences: sentences.length,
      audioSeconds,
      realTimeFactor: engineMs / 1000 / audioSeconds,
    };
  } finally {
    await session.release();
    await engine.unload();
  }
}

/** Runs the benchmark and prints its table (PIPER_BENCH_MODEL=path/NAME.onnx times a real voice). */
export async function printPiperBench(): Promise<PiperBenchResult> {
  const modelPath = process.env.PIPER_BENCH_MODEL;
  const threads = Number(process.env.PIPER_BENCH_THREADS ?? 0);
  console.log(`\n## Piper engine (${modelPath ? path.basename(modelPath) : "generated medium-cost voice"}, threads ${threads || "default"})`);
  const r = await benchPiper({ modelPath, threads });
  console.log(
    table([
      ["measure", "value", "target"],
      ["engine / bare session.run (same ids, model)", `${fmt(r.engineVsBareOrtRatio, 3)}x`, "<= 1.05x"],
      ["engine time (median)", `${fmt(r.engineMs, 1)} ms`, ""],
      ["bare session.run time (median)", `${fmt(r.bareOrtMs, 1)} ms`, ""],
      ["sentences / audio", `${r.sentences} / ${fmt(r.audioSeconds, 2)} s`, ""],
      ["real-time factor (engine)", fmt(r.realTimeFactor, 3), "< 1"],
      ["phonemize per sentence (in a paragraph)", `${fmt(r.phonemizeMsPerSentence, 2)} ms`, ""],
      ["phonemize one short sentence", `${fmt(r.phonemizeMsSingleSentence, 2)} ms`, ""],
    ]),
  );
  return r;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) await printPiperBench();
