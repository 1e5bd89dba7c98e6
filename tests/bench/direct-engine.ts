/**
 * The host bench's in-process path: the eSpeak NG engine called directly, without the host
 * (no HTTP, no scheduler, no protocol), doing the rest of the work a response needs: cut the
 * text into parts as the pipeline does (sentences if the host splits, the short first chunk),
 * synthesise, assemble the WAV file.
 * `inThread` runs it on a worker thread of this process at the priority the host gives engine
 * threads (core/registry/priority.ts, ENGINE_NICENESS): so on a busy machine both paths' engines
 * get the same share of the CPU (the host's engine thread is reniced; this process's main thread
 * is not), and the ratio compares the host's work, not the two threads' priorities.
 */
import fs from "node:fs";
import os from "node:os";
import { Worker, isMainThread, parentPort } from "node:worker_threads";
import espeakPlugin from "../../engines/espeak/index.ts";
import { ManifestSchema } from "../../core/registry/manifest-schema.ts";
import { lowerEnginePriority } from "../../core/registry/priority.ts";
import { wavFile } from "../../core/audio/output/wav.ts";
import { splitSentences } from "../../core/text/sentences.ts";
import { withShortFirstChunk } from "../../core/text/first-chunk.ts";
import { TextSchema } from "../../core/config/schema.ts";
import type { Engine } from "../../packages/sdk/src/index.ts";

export const espeakManifest = ManifestSchema.parse(JSON.parse(fs.readFileSync(new URL("../../engines/espeak/plugin.json", import.meta.url), "utf8")));

export interface DirectEngine {
  /** The text as a WAV file: its length in bytes. */
  speak(text: string): Promise<number>;
  close(): Promise<void>;
}

export async function loadEngine(): Promise<Engine> {
  const manifest = espeakManifest;
  const engine = await espeakPlugin.create({ manifest });
  const noop = () => {};
  await engine.load({
    profile: manifest.resources.profiles[0]!,
    device: { kind: "cpu", index: 0, simulated: false },
    pluginDir: "",
    settings: {},
    dataDir: os.tmpdir(),
    log: { debug: noop, info: noop, warn: noop, error: noop },
    reportMemory: noop,
  });
  return engine;
}

/** The host's default for the short first chunk (config `text.firstChunkWords`), which the bench's server runs with. */
const FIRST_CHUNK_WORDS = TextSchema.parse({}).firstChunkWords;

/** What the host does for a non-streamed WAV, minus HTTP and the worker: split as the pipeline does, synthesise, assemble. */
export async function speakDirect(engine: Engine, text: string): Promise<Buffer> {
  const chunks: Int16Array[] = [];
  let rate = 0;
  const signal = new AbortController().signal;
  const hostSplits = espeakManifest.capabilities.sentenceSplitting === "host";
  for (const sentence of withShortFirstChunk(hostSplits ? splitSentences(text) : [text], FIRST_CHUNK_WORDS)) {
    for await (const chunk of engine.synthesize({ text: sentence, voice: "en-us", speed: 1, pitch: 1, options: {} }, signal)) {
      rate = chunk.sampleRate;
      chunks.push(chunk.samples);
    }
  }
  return wavFile(rate, chunks);
}

/** The engine on this thread. */
export async function directOnMainThread(): Promise<DirectEngine> {
  const engine = await loadEngine();
  return { speak: async (text) => (await speakDirect(engine, text)).length, close: () => engine.unload() };
}

/** The engine on a worker thread of this process, at the host's engine priority; the WAV comes back transferred. */
export async function directInThread(): Promise<DirectEngine> {
  const worker = new Worker(new URL("./direct-engine.worker.mjs", import.meta.url));
  await new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
  });
  return {
    speak: (text) =>
      new Promise<number>((resolve, reject) => {
        worker.once("message", (m: { wav?: Uint8Array; error?: string }) => (m.wav ? resolve(m.wav.length) : reject(new Error(m.error))));
        worker.postMessage(text);
      }),
    close: async () => {
      await worker.terminate();
    },
  };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  lowerEnginePriority();
  const engine = await loadEngine();
  port.on("message", (text: string) => {
    speakDirect(engine, text).then(
      (wav) => {
        const bytes = new Uint8Array(wav.buffer, wav.byteOffset, wav.byteLength);
        port.postMessage({ wav: bytes }, wav.byteOffset === 0 && wav.byteLength === wav.buffer.byteLength ? [wav.buffer as ArrayBuffer] : []);
      },
      (err: Error) => port.postMessage({ error: err.message }),
    );
  });
  port.postMessage("ready");
}
