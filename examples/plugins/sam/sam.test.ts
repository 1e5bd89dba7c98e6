/** SAM driven the way the host drives it (create, load, synthesize), in-process. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { VoiceNotFoundError, manifestWithDefaults, type AudioChunk, type Engine, type SynthesisRequest } from "chorus/sdk";
import plugin, { pieces, samText } from "./index.ts";

const manifest = manifestWithDefaults(JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "plugin.json"), "utf8")));
const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function engine(): Promise<Engine> {
  const e = await plugin.create({ manifest });
  await e.load({
    profile: manifest.resources.profiles[0]!,
    device: { kind: "cpu", index: 0, simulated: false },
    reportMemory: () => {},
    pluginDir: import.meta.dirname,
    settings: {},
    dataDir: "/tmp",
    log: silent,
  });
  return e;
}

async function speak(e: Engine, request: Partial<SynthesisRequest>, signal = new AbortController().signal) {
  const chunks: AudioChunk[] = [];
  for await (const c of e.synthesize({ text: "Hello, I am SAM.", voice: "sam", speed: 1, pitch: 1, options: {}, ...request }, signal)) chunks.push(c);
  const samples = new Int16Array(chunks.reduce((n, c) => n + c.samples.length, 0));
  let at = 0;
  for (const c of chunks) samples.set(c.samples, (at += c.samples.length) - c.samples.length);
  const rms = Math.sqrt(samples.reduce((s, v) => s + v * v, 0) / samples.length) / 32768;
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
  return { chunks, seconds: samples.length / 22050, rms, crossingRate: crossings / samples.length };
}

describe("SAM plugin", () => {
  it("lists the classic voices, the default among them", async () => {
    const voices = await (await engine()).listVoices();
    expect(voices.map((v) => v.id)).toEqual(expect.arrayContaining(["sam", "elf", "little-robot", "little-old-lady"]));
    expect(voices.map((v) => v.id)).toContain(manifest.defaultVoice);
  });

  it("speaks at 22050 Hz, for a plausible time, not silently", async () => {
    const out = await speak(await engine(), { text: "The quick brown fox jumps over the lazy dog." });
    expect(out.chunks.every((c) => c.sampleRate === 22050)).toBe(true);
    expect(out.seconds).toBeGreaterThan(9 * 0.15);
    expect(out.seconds).toBeLessThan(9 * 1.0);
    expect(out.rms).toBeGreaterThan(0.02);
  });

  it("follows speed and pitch", async () => {
    const e = await engine();
    const text = "One two three four five six.";
    const normal = await speak(e, { text });
    expect((await speak(e, { text, speed: 2 })).seconds).toBeLessThan(normal.seconds * 0.75);
    const low = await speak(e, { text: "Aaaah.", pitch: 0.6 });
    const high = await speak(e, { text: "Aaaah.", pitch: 1.8 });
    expect(high.crossingRate).toBeGreaterThan(low.crossingRate);
  });

  it("streams long text in pieces SAM accepts", async () => {
    const long = Array.from({ length: 60 }, (_, i) => `word${i % 10}`).join(" ");
    expect(pieces(long).every((p) => p.length <= 200)).toBe(true);
    expect(pieces(long).join(" ")).toBe(long);
    const out = await speak(await engine(), { text: long });
    expect(out.chunks.length).toBeGreaterThan(1);
  });

  it("cleans text SAM cannot read and speaks phonemes when asked", async () => {
    expect(samText("Café “quoted” — naïve")).toBe('Cafe "quoted" , naive');
    const out = await speak(await engine(), { text: "/HEH3LOW", options: { phonetic: true } });
    expect(out.seconds).toBeGreaterThan(0.2);
  });

  it("refuses an unknown voice and stops when aborted", async () => {
    const e = await engine();
    await expect(speak(e, { voice: "hal" })).rejects.toBeInstanceOf(VoiceNotFoundError);
    const controller = new AbortController();
    controller.abort();
    await expect(speak(e, {}, controller.signal)).rejects.toMatchObject({ code: "ENGINE_ABORTED" });
  });
});
