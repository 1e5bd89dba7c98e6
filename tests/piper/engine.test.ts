/**
 * The Piper engine in-process on the generated voices: real onnxruntime inference, Piper's
 * exact inputs, rank 3 and 4 outputs, speakers, scales, normalisation, sentence silence,
 * streaming, errors.
 */
import fs from "node:fs";
import path from "node:path";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "chorus/sdk";
import { peakNormalize } from "../../engines/piper/onnx-voice.ts";
import { phonemizeWithVoiceConfig } from "../../engines/piper/cli/phonemize.ts";
import { FRAMES_PER_ID, HOP } from "../fixtures/piper/voice-models.ts";
import { ensureTestVoices, MULTI_SPEAKERS } from "../fixtures/piper/generate-voices.ts";
import { collect, loadEngine, request, type LogLine } from "./helpers.ts";

let dir: string;
let engine: Engine;
const lines: LogLine[] = [];
const quiet = { noiseScale: 0, noiseW: 0 };

beforeAll(async () => {
  dir = ensureTestVoices();
  engine = await loadEngine({ voiceDirs: [dir], sentenceSilenceSeconds: 0.25, threads: 1 }, lines);
});
afterAll(async () => {
  await engine.unload();
});

/** Samples the generated model makes for `n` ids at `lengthScale` (see voice-models.ts). */
const expectedSamples = (n: number, lengthScale = 1) => Math.ceil(n * FRAMES_PER_ID * lengthScale - 1e-4) * HOP;

async function bareOrt(voice: string, ids: number[], scales: number[], sid?: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path.join(dir, `${voice}.onnx`));
  const feeds: Record<string, ort.Tensor> = {
    input: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
    input_lengths: new ort.Tensor("int64", BigInt64Array.of(BigInt(ids.length)), [1]),
    scales: new ort.Tensor("float32", Float32Array.from(scales), [3]),
  };
  if (sid !== undefined) feeds.sid = new ort.Tensor("int64", BigInt64Array.of(BigInt(sid)), [1]);
  const out = await session.run(feeds);
  await session.release();
  return out.output!.data as Float32Array;
}

describe("voices", () => {
  it("lists the voice pairs in the voice directory with their languages", async () => {
    const voices = await engine.listVoices();
    expect(voices.map((v) => v.id).sort()).toEqual(["test-de", "test-multi", "test-single"]);
    expect(voices.find((v) => v.id === "test-de")!.languages).toContain("de");
    expect(voices.find((v) => v.id === "test-multi")!.description).toMatch(/4 speakers.*alice/);
  });
});

describe("inference", () => {
  it("feeds the phonemizer's ids and returns the model's audio, peak-normalised, at the voice's rate (rank 4)", async () => {
    const text = "Hello world. This is a test!";
    const { sentences } = await phonemizeWithVoiceConfig(path.join(dir, "test-single.onnx.json"), text);
    const chunks = await collect(engine.synthesize(request(text, "test-single", { options: { ...quiet, sentenceSilence: 0 } }), new AbortController().signal));
    expect(chunks).toHaveLength(2);
    for (const [i, chunk] of chunks.entries()) {
      const ids = sentences[i]!.phoneme_ids;
      expect(chunk.sampleRate).toBe(22050);
      expect(chunk.samples.length).toBe(expectedSamples(ids.length));
      const reference = peakNormalize(await bareOrt("test-single", ids, [0, 1, 0]));
      expect(Array.from(chunk.samples)).toEqual(Array.from(reference));
      expect(Math.max(...chunk.samples.map(Math.abs))).toBeGreaterThanOrEqual(32766);
    }
  });

  it("reads rank-3 output and selects speakers by id and by name (sid input)", async () => {
    const text = "Speaker test.";
    const { sentences } = await phonemizeWithVoiceConfig(path.join(dir, "test-multi.onnx.json"), text);
    const ids = sentences[0]!.phoneme_ids;
    const run = async (options: Record<string, unknown>) =>
      (await collect(engine.synthesize(request(text, "test-multi", { options: { ...quiet, ...options } }), new AbortController().signal)))[0]!;
    const byName = await run({ speaker: "carol" });
    const byId = await run({ speakerId: MULTI_SPEAKERS.carol });
    const byNumericString = await run({ speaker: String(MULTI_SPEAKERS.carol) });
    const other = await run({ speaker: "alice" });
    expect(byName.sampleRate).toBe(16000);
    expect(Array.from(byName.samples)).toEqual(Array.from(byId.samples));
    expect(Array.from(byName.samples)).toEqual(Array.from(byNumericString.samples));
    expect(Array.from(byName.samples)).toEqual(Array.from(peakNormalize(await bareOrt("test-multi", ids, [0, 1, 0], 2))));
    expect(Array.from(other.samples)).not.toEqual(Array.from(byName.samples));
    expect(Array.from((await run({})).samples)).toEqual(Array.from(other.samples)); // speaker 0 by default
  });

  it("rejects speakers out of range or unknown with ENGINE_BAD_OPTION naming the option", async () => {
    const attempt = (options: Record<string, unknown>, voice = "test-multi") => collect(engine.synthesize(request("Hi.", voice, { options }), new AbortController().signal));
    await expect(attempt({ speakerId: 4 })).rejects.toMatchObject({ code: "ENGINE_BAD_OPTION", message: expect.stringMatching(/^options\.speakerId: speaker 4 is out of range.*0-3/) });
    await expect(attempt({ speaker: "zed" })).rejects.toMatchObject({ code: "ENGINE_BAD_OPTION", message: expect.stringMatching(/^options\.speaker: unknown speaker 'zed'.*alice/) });
    await expect(attempt({ speaker: "1" }, "test-single")).rejects.toMatchObject({ code: "ENGINE_BAD_OPTION", message: expect.stringMatching(/single speaker/) });
  });

  it("maps speed to length_scale (base / speed) and honours lengthScale", async () => {
    const text = "Speed.";
    const { sentences } = await phonemizeWithVoiceConfig(path.join(dir, "test-single.onnx.json"), text);
    const n = sentences[0]!.phoneme_ids.length;
    const len = async (extra: Parameters<typeof request>[2]) =>
      (await collect(engine.synthesize(request(text, "test-single", extra), new AbortController().signal)))[0]!.samples.length;
    expect(await len({ options: quiet })).toBe(expectedSamples(n, 1));
    expect(await len({ speed: 2, options: quiet })).toBe(expectedSamples(n, 0.5));
    expect(await len({ speed: 0.5, options: quiet })).toBe(expectedSamples(n, 2));
    expect(await len({ speed: 2, options: { ...quiet, lengthScale: 3 } })).toBe(expectedSamples(n, 1.5));
  });

  it("uses per-request noise scales (zero: deterministic; voice defaults: sampled)", async () => {
    const run = async (options: Record<string, unknown>) =>
      Array.from((await collect(engine.synthesize(request("Noise.", "test-single", { options }), new AbortController().signal)))[0]!.samples);
    expect(await run(quiet)).toEqual(await run(quiet));
    expect(await run({})).not.toEqual(await run({}));
    expect(await run({ noiseScale: 0.5, noiseW: 0 })).not.toEqual(await run(quiet));
  });

  it("puts the configured silence between sentences, not after the last, and per request", async () => {
    const text = "One. Two. Three.";
    const signal = new AbortController().signal;
    const plain = await collect(engine.synthesize(request(text, "test-single", { options: { ...quiet, sentenceSilence: 0 } }), signal));
    const spaced = await collect(engine.synthesize(request(text, "test-single", { options: quiet }), signal));
    const silence = Math.round(0.25 * 22050);
    expect(spaced.map((c) => c.samples.length)).toEqual(plain.map((c, i) => c.samples.length + (i < 2 ? silence : 0)));
    expect(spaced[0]!.samples.subarray(plain[0]!.samples.length).every((s) => s === 0)).toBe(true);
    const custom = await collect(engine.synthesize(request(text, "test-single", { options: { ...quiet, sentenceSilence: 1 } }), signal));
    expect(custom[0]!.samples.length).toBe(plain[0]!.samples.length + 22050);
  });

  it("streams: the first sentence arrives before the later ones are synthesised", async () => {
    const text = Array.from({ length: 8 }, (_, i) => `Sentence ${i} is here.`).join(" ");
    const stream = engine.synthesize(request(text, "test-single", { options: quiet }), new AbortController().signal)[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.done).toBe(false);
    await stream.return?.(undefined); // stop after one: the rest are never synthesised
    const controller = new AbortController();
    const chunks: number[] = [];
    await expect(
      (async () => {
        for await (const chunk of engine.synthesize(request(text, "test-single", { options: quiet }), controller.signal)) {
          chunks.push(chunk.samples.length);
          controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: "ENGINE_ABORTED" });
    expect(chunks).toHaveLength(1);
  });

  it("phonemizes German with the voice's espeak voice", async () => {
    const chunks = await collect(engine.synthesize(request("Guten Tag. Wie geht's?", "test-de", { options: quiet }), new AbortController().signal));
    expect(chunks).toHaveLength(2);
  });
});

describe("errors", () => {
  it("an unknown voice is ENGINE_VOICE_NOT_FOUND", async () => {
    await expect(collect(engine.synthesize(request("Hi.", "nope"), new AbortController().signal))).rejects.toMatchObject({ code: "ENGINE_VOICE_NOT_FOUND" });
  });

  it("a corrupt model fails that request with a clear ENGINE_FAILED, and other voices keep working", async () => {
    const bad = fs.mkdtempSync(path.join(dir, "..", "corrupt-"));
    fs.writeFileSync(path.join(bad, "broken.onnx"), "this is not an onnx model");
    fs.copyFileSync(path.join(dir, "test-single.onnx.json"), path.join(bad, "broken.onnx.json"));
    const local = await loadEngine({ voiceDirs: [bad, dir] });
    try {
      await expect(collect(local.synthesize(request("Hi.", "broken"), new AbortController().signal))).rejects.toMatchObject({
        code: "ENGINE_FAILED",
        message: expect.stringMatching(/cannot load Piper model .*broken\.onnx/),
      });
      expect(await collect(local.synthesize(request("Hi.", "test-single"), new AbortController().signal))).toHaveLength(1);
    } finally {
      await local.unload();
      fs.rmSync(bad, { recursive: true, force: true });
    }
  });

  it("the cuda profile uses onnxruntime's CUDA provider when it has one, else falls back to the CPU with a warning", async () => {
    const log: LogLine[] = [];
    const gpu = await loadEngine({ voiceDirs: [dir] }, log, { name: "cuda", device: "cuda" });
    try {
      const chunks = await collect(gpu.synthesize(request("On the GPU profile.", "test-single", { options: quiet }), new AbortController().signal));
      expect(chunks).toHaveLength(1);
      const opened = log.find((l) => l.msg.includes("opened voice"))!;
      if (opened.extra?.provider === "cpu") expect(log.some((l) => l.level === "warn" && /CUDA (execution provider unavailable|provider library installed)/.test(l.msg))).toBe(true);
      else expect(opened.extra?.provider).toBe("cuda");
    } finally {
      await gpu.unload();
    }
  });

  it("invalid settings fail the load with the field named", async () => {
    await expect(loadEngine({ voiceDirs: "voices", threads: -1 })).rejects.toThrow(/engines\.settings\.piper.*voiceDirs/);
  });
});
