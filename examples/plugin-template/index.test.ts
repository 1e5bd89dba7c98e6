/**
 * The template's own tests: they drive the engine exactly as the host does (create, load,
 * listVoices, synthesize, unload), in-process. Copy and adapt them with the plugin; then run
 * `chorus plugin check <folder>` to try it inside a real engine worker.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ManifestSchema, VoiceNotFoundError, type AudioChunk, type Engine, type SynthesisRequest } from "chorus/sdk";
import plugin from "./index.ts";

const manifest = ManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "plugin.json"), "utf8")));
const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function loaded(): Promise<Engine> {
  const engine = await plugin.create({ manifest });
  await engine.load({ profile: manifest.resources.profiles[0]!, device: { kind: "cpu", index: 0, simulated: false }, reportMemory: () => {}, pluginDir: import.meta.dirname, settings: {}, dataDir: "/tmp", log: silent });
  return engine;
}

async function speak(engine: Engine, request: Partial<SynthesisRequest>, signal = new AbortController().signal): Promise<AudioChunk[]> {
  const chunks: AudioChunk[] = [];
  const full = { text: "Hello there, world.", voice: manifest.defaultVoice!, speed: 1, pitch: 1, options: {}, ...request };
  for await (const chunk of engine.synthesize(full, signal)) chunks.push(chunk);
  return chunks;
}

const seconds = (chunks: AudioChunk[]) => chunks.reduce((n, c) => n + c.samples.length / c.sampleRate, 0);

describe("plugin-template", () => {
  it("has a valid manifest whose default voice exists", async () => {
    const voices = await (await loaded()).listVoices();
    expect(voices.map((v) => v.id)).toContain(manifest.defaultVoice);
  });

  it("streams one chunk per word at a declared sample rate, not silent", async () => {
    const chunks = await speak(await loaded(), { text: "One two three four." });
    expect(chunks).toHaveLength(4);
    for (const c of chunks) expect(manifest.capabilities.sampleRates).toContain(c.sampleRate);
    expect(Math.max(...chunks[0]!.samples)).toBeGreaterThan(5000);
  });

  it("speaks longer text for longer, and faster with speed", async () => {
    const engine = await loaded();
    const short = seconds(await speak(engine, { text: "Hi." }));
    const long = seconds(await speak(engine, { text: "This sentence has quite a few more words in it." }));
    const fast = seconds(await speak(engine, { text: "This sentence has quite a few more words in it.", speed: 2 }));
    expect(long).toBeGreaterThan(short * 5);
    expect(fast).toBeLessThan(long * 0.75);
  });

  it("honours the volume option", async () => {
    const engine = await loaded();
    const peak = async (volume: number) => Math.max(...(await speak(engine, { text: "Hi.", options: { volume } }))[0]!.samples);
    expect(await peak(0.2)).toBeLessThan((await peak(0.8)) / 2);
  });

  it("refuses an unknown voice with VoiceNotFoundError", async () => {
    await expect(speak(await loaded(), { voice: "nobody" })).rejects.toBeInstanceOf(VoiceNotFoundError);
  });

  it("stops when the request is aborted", async () => {
    const controller = new AbortController();
    const engine = await loaded();
    const chunks: AudioChunk[] = [];
    const run = (async () => {
      for await (const c of engine.synthesize({ text: "a b c d e f g h i j", voice: "low", speed: 1, pitch: 1, options: {} }, controller.signal)) {
        chunks.push(c);
        if (chunks.length === 2) controller.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ code: "ENGINE_ABORTED" });
    expect(chunks).toHaveLength(2);
  });
});
