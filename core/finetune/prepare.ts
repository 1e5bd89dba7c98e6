/**
 * `chorus finetune prepare INPUT... --out DIR`: long recordings to an AllTalk/coqui dataset:
 * transcription with word timestamps, clips cut by segment.ts, 22.05 kHz mono 16-bit WAVs,
 * metadata_train.csv / metadata_eval.csv (`audio_file|text|speaker_name`), lang.txt, a seeded
 * eval split, then the dataset check on the result.
 */
import fs from "node:fs";
import path from "node:path";
import { wavFile } from "../audio/output/wav.ts";
import type { TrainableModel } from "./model.ts";
import { AUDIO_EXTENSIONS } from "./dataset/read.ts";
import { decodeAudio } from "./dataset/audio.ts";
import { segmentWords, type SegmentResult } from "./segment.ts";
import type { Transcriber } from "./transcriber.ts";
import { checkDataset, type CheckReport } from "./check.ts";

export interface PrepareOptions {
  model: TrainableModel;
  transcriber: Transcriber;
  out: string;
  language?: string;
  speaker?: string;
  /** Requested eval share, percent; clamped to 10-30 (AllTalk v2 does the same). */
  evalPercent?: number;
  minSeconds?: number;
  maxSeconds?: number;
  buffer?: number;
  /** Seed of the eval split's shuffle. */
  seed?: number;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

export interface PreparedClip {
  file: string;
  text: string;
  seconds: number;
  sentences: number;
  split: "train" | "eval";
  source: string;
}

export interface PrepareResult {
  out: string;
  clips: PreparedClip[];
  skipped: (SegmentResult["skipped"][number] & { source: string })[];
  report: CheckReport;
}

/** Input files: files as given, folders expanded to the audio files in them. */
export function inputFiles(inputs: string[]): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    const st = fs.statSync(input, { throwIfNoEntry: false });
    if (!st) throw new Error(`${input} does not exist`);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(input).sort()) if (AUDIO_EXTENSIONS.includes(path.extname(name).toLowerCase())) out.push(path.join(input, name));
    } else out.push(input);
  }
  if (!out.length) throw new Error(`no audio files in ${inputs.join(", ")}`);
  return out;
}

/** Deterministic shuffle (mulberry32), so the same inputs give the same split. */
function shuffled<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const csvText = (t: string) =>
  t
    .replace(/[|\r\n]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();

export async function prepareDataset(inputs: string[], o: PrepareOptions): Promise<PrepareResult> {
  const files = inputFiles(inputs);
  const rate = o.model.limits.sampleRate;
  const minSeconds = o.minSeconds ?? 2;
  const maxSeconds = Math.min(o.maxSeconds ?? 11, o.model.limits.maxClipSeconds);
  if (minSeconds >= maxSeconds) throw new Error(`--min-seconds (${minSeconds}) must be under --max-seconds (${maxSeconds})`);
  const wavs = path.join(o.out, "wavs");
  fs.mkdirSync(wavs, { recursive: true });
  const clips: PreparedClip[] = [];
  const skipped: PrepareResult["skipped"] = [];
  let language = o.language;
  for (const [n, file] of files.entries()) {
    const label = `[${n + 1}/${files.length}] ${path.basename(file)}`;
    o.onProgress?.(`${label}: decoding`);
    const decoded = await decodeAudio(file, rate, 3 * 3600, o.signal);
    const duration = decoded.samples.length / rate;
    o.onProgress?.(`${label}: transcribing ${(duration / 60).toFixed(1)} min with ${o.transcriber.name}`);
    let last = -1;
    const t = await o.transcriber.transcribe(file, {
      language,
      signal: o.signal,
      onProgress: (f) => {
        const pct = Math.floor(f * 10) * 10;
        if (pct > last) o.onProgress?.(`${label}: transcribed ${(last = pct)} %`);
      },
    });
    language ??= t.language;
    const result = segmentWords(t.words, { minSeconds, maxSeconds, buffer: o.buffer ?? 0.2, duration });
    skipped.push(...result.skipped.map((s) => ({ ...s, source: path.basename(file) })));
    const stem = path.parse(file).name.replace(/[^\w.-]+/g, "_");
    for (const [i, seg] of result.segments.entries()) {
      const name = `${stem}_${String(i + 1).padStart(4, "0")}.wav`;
      const pcm = decoded.samples.subarray(Math.floor(seg.start * rate), Math.ceil(seg.end * rate));
      fs.writeFileSync(path.join(wavs, name), wavFile(rate, [pcm]));
      clips.push({
        file: `wavs/${name}`,
        text: csvText(seg.text),
        seconds: pcm.length / rate,
        sentences: seg.sentences,
        split: "train",
        source: path.basename(file),
      });
    }
    o.onProgress?.(`${label}: ${result.segments.length} clips, ${result.skipped.length} stretch(es) left out`);
  }
  // Eval split: requested share clamped to 10-30 %, at least one clip when there are two or more.
  const share = Math.min(30, Math.max(10, o.evalPercent ?? 15)) / 100;
  const evalCount = clips.length >= 2 ? Math.max(1, Math.round(clips.length * share)) : 0;
  for (const c of shuffled(clips, o.seed ?? 42).slice(0, evalCount)) c.split = "eval";
  const speaker = csvText(o.speaker ?? "speaker");
  const csv = (split: string) =>
    `${["audio_file|text|speaker_name", ...clips.filter((c) => c.split === split).map((c) => `${c.file}|${c.text}|${speaker}`)].join("\n")}\n`;
  fs.writeFileSync(path.join(o.out, "metadata_train.csv"), csv("train"));
  fs.writeFileSync(path.join(o.out, "metadata_eval.csv"), csv("eval"));
  fs.writeFileSync(path.join(o.out, "lang.txt"), `${language ?? "en"}\n`);
  o.onProgress?.(`checking ${clips.length} clips`);
  const report = await checkDataset(o.out, { model: o.model, language: language ?? "en", signal: o.signal });
  return { out: path.resolve(o.out), clips, skipped, report };
}
