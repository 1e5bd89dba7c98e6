/**
 * Test datasets made from real engine audio: eSpeak NG through Chorus's own pipeline, written as
 * WAV clips with their texts. Nothing here is a recording: lengths are what eSpeak produces.
 */
import fs from "node:fs";
import path from "node:path";
import { wavFile } from "../../core/audio/output/wav.ts";
import type { Host } from "../../core/host.ts";
import { speechRequest, testHost } from "../helpers/host.ts";

const SUBJECTS = [
  "The old sailor",
  "A quiet student",
  "My neighbour",
  "The tired baker",
  "Our new teacher",
  "A clever fox",
  "The young doctor",
  "His little sister",
];
const VERBS = ["carried", "painted", "repaired", "described", "noticed", "borrowed", "cleaned", "ordered"];
const OBJECTS = [
  "a wooden chair",
  "the broken clock",
  "seven green bottles",
  "a letter from Paris",
  "the heavy suitcase",
  "an umbrella",
  "the garden gate",
  "a basket of apples",
];
const PLACES = [
  "before the storm arrived",
  "on a sunny morning",
  "near the train station",
  "after a long dinner",
  "during the winter holidays",
  "beside the river",
  "at the end of the week",
  "in the crowded market",
];

/** The i-th of 512 distinct, plain English sentences. */
export function sentence(i: number): string {
  return `${SUBJECTS[i % 8]} ${VERBS[Math.floor(i / 8) % 8]} ${OBJECTS[Math.floor(i / 64) % 8]} ${PLACES[(i + Math.floor(i / 8)) % 8]}.`;
}

export class Speaker {
  private host: Host | undefined;
  sampleRate = 22050;

  async say(text: string): Promise<Int16Array> {
    this.host ??= testHost();
    const speech = await this.host.pipeline.start(speechRequest({ text, engine: "espeak" }), new AbortController().signal);
    this.sampleRate = speech.sampleRate;
    const chunks: Int16Array[] = [];
    for await (const c of speech.chunks) chunks.push(c.samples);
    const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.host?.close();
  }
}

export function silence(seconds: number, rate: number): Int16Array {
  return new Int16Array(Math.round(seconds * rate));
}

export function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function writeWav(file: string, rate: number, samples: Int16Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, wavFile(rate, [samples]));
}

export interface Row {
  file: string;
  text: string;
}

/** metadata_train.csv / metadata_eval.csv with the AllTalk header, plus lang.txt. */
export function writeCoqui(dir: string, train: Row[], evals: Row[], speaker = "tester"): void {
  const csv = (rows: Row[]) => `${["audio_file|text|speaker_name", ...rows.map((r) => `${r.file}|${r.text}|${speaker}`)].join("\n")}\n`;
  fs.writeFileSync(path.join(dir, "metadata_train.csv"), csv(train));
  fs.writeFileSync(path.join(dir, "metadata_eval.csv"), csv(evals));
  fs.writeFileSync(path.join(dir, "lang.txt"), "en\n");
}
