/**
 * The Piper engine in-process on the generated voices: real onnxruntime inference, Piper's
 * exact inputs, rank 3 and 4 outputs, speakers, scales, normalisation, sentence silence,
 * streaming, errors.
 */
import fs from "node:fs";
import path from "node:path";
import ort from "onnxruntime-node";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AudioChunk, Engine } from "chorus/sdk";
import { OnnxVoice, peakNormalize } from "../../engines/piper/onnx-voice.ts";
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
    const attempt = (options: Record<string, unknown>, voice = "test-multi") =>
      collect(engine.synthesize(request("Hi.", voice, { options }), new AbortController().signal));
    await expect(attempt({ speakerId: 4 })).rejects.toMatchObject({
      code: "ENGINE_BAD_OPTION",
      message: expect.stringMatching(/^options\.speakerId: speaker 4 is out of range.*0-3/),
    });
    await expect(attempt({ speaker: "zed" })).rejects.toMatchObject({
      code: "ENGINE_BAD_OPTION",
      message: expect.stringMatching(/^options\.speaker: unknown speaker 'zed'.*alice/),
    });
    await expect(attempt({ speaker: "1" }, "test-single")).rejects.toMatchObject({
      code: "ENGINE_BAD_OPTION",
      message: expect.stringMatching(/single speaker/),
    });
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

describe("peak normalisation", () => {
  /** Piper's C++ written out step by step in float32 (Math.fround after every operation). */
  function piperCpp(audio: Float32Array): Int16Array {
    const f = Math.fround;
    let maxAudioValue = f(0.01);
    for (const x of audio) if (f(Math.abs(x)) > maxAudioValue) maxAudioValue = f(Math.abs(x));
    const audioScale = f(f(32767) / Math.max(f(0.01), maxAudioValue));
    return Int16Array.from(audio, (x) => Math.trunc(Math.min(32767, Math.max(-32768, f(x * audioScale)))));
  }
  /** The same in double precision: what peakNormalize used to compute. */
  const inDouble = (audio: Float32Array) => {
    const scale = 32767 / audio.reduce((max, x) => Math.max(max, Math.abs(x)), 0.01);
    return Array.from(audio, (x) => Math.trunc(Math.min(32767, Math.max(-32768, x * scale))));
  };

  it("rounds like Piper's float32 C++, where double precision gives other samples", () => {
    // Values from Piper's C++ arithmetic compiled with g++: the peak itself can land on 32766.
    const peaks = Float32Array.of(0.7903684377670288, -0.7903684377670288, 0.25);
    expect(Array.from(peakNormalize(peaks))).toEqual([32766, -32766, 10364]);
    expect(inDouble(peaks)).toEqual([32767, -32767, 10364]);
    expect(Array.from(peakNormalize(Float32Array.of(0.9472106099128723, -0.5, 0.123)))).toEqual([32767, -17296, 4254]);
    expect(Array.from(peakNormalize(Float32Array.of(0.004, -0.0075, 0.00999)))).toEqual([13106, -24575, 32734]); // peak below 0.01

    // Noise at many levels (a fixed generator, so the run is repeatable).
    let seed = 42;
    const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    let differFromDouble = 0;
    for (let t = 0; t < 200; t++) {
      const amplitude = t % 10 === 0 ? 0.012 * Math.abs(random()) : Math.abs(random()) * 1.2;
      const audio = Float32Array.from({ length: 2000 }, () => random() * amplitude);
      const ours = Array.from(peakNormalize(audio));
      expect(ours).toEqual(Array.from(piperCpp(audio)));
      const double = inDouble(audio);
      differFromDouble += ours.filter((v, i) => v !== double[i]).length;
    }
    expect(differFromDouble).toBeGreaterThan(50); // the data does exercise float32 vs double
  });
});

describe("open models", () => {
  const text = "One sentence here. Another one there. And a third.";
  /** Starts a synthesis and waits for its first chunk: the request is then mid-stream on its model. */
  async function midStream(on: Engine, voice: string) {
    const stream = on.synthesize(request(text, voice, { options: quiet }), new AbortController().signal)[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.done).toBe(false);
    return {
      async rest(): Promise<AudioChunk[]> {
        const chunks = [first.value as AudioChunk];
        for (let next = await stream.next(); !next.done; next = await stream.next()) chunks.push(next.value);
        return chunks;
      },
    };
  }
  const settle = () => new Promise((r) => setTimeout(r, 50));

  it("an evicted model is released only after the request still using it finishes (maxLoadedVoices 1)", async () => {
    const release = vi.spyOn(OnnxVoice.prototype, "release");
    const local = await loadEngine({ voiceDirs: [dir], maxLoadedVoices: 1, watch: false, threads: 1 });
    try {
      const a = await midStream(local, "test-single");
      // A second voice pushes test-single out of the map while the first request is mid-stream.
      expect(await collect(local.synthesize(request("Other voice.", "test-multi", { options: quiet }), new AbortController().signal))).toHaveLength(1);
      await settle();
      expect(release).not.toHaveBeenCalled();
      expect(await a.rest()).toHaveLength(3); // not "Session already disposed"
      await settle();
      expect(release).toHaveBeenCalledTimes(1); // test-single, by its last user
      await local.unload();
      expect(release).toHaveBeenCalledTimes(2); // and test-multi at unload
    } finally {
      await local.unload();
      release.mockRestore();
    }
  });

  it("a model whose files changed is replaced for new requests and released after its running one", async () => {
    const localDir = fs.mkdtempSync(path.join(os.tmpdir(), "piper-reopen-"));
    for (const f of ["test-single.onnx", "test-single.onnx.json"]) fs.copyFileSync(path.join(dir, f), path.join(localDir, f));
    const release = vi.spyOn(OnnxVoice.prototype, "release");
    const log: LogLine[] = [];
    const local = await loadEngine({ voiceDirs: [localDir], watch: false, threads: 1 }, log);
    try {
      const a = await midStream(local, "test-single");
      const later = new Date(Date.now() + 10_000);
      fs.utimesSync(path.join(localDir, "test-single.onnx"), later, later);
      await local.listVoices(); // re-scan: the voice has a new version
      expect(await collect(local.synthesize(request("New model.", "test-single", { options: quiet }), new AbortController().signal))).toHaveLength(1);
      expect(log.filter((l) => l.msg.includes("opened voice 'test-single'"))).toHaveLength(2);
      await settle();
      expect(release).not.toHaveBeenCalled();
      expect(await a.rest()).toHaveLength(3);
      await settle();
      expect(release).toHaveBeenCalledTimes(1);
    } finally {
      await local.unload();
      release.mockRestore();
      fs.rmSync(localDir, { recursive: true, force: true });
    }
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
      if (opened.extra?.provider === "cpu")
        expect(log.some((l) => l.level === "warn" && /CUDA (execution provider unavailable|provider library installed)/.test(l.msg))).toBe(true);
      else expect(opened.extra?.provider).toBe("cuda");
    } finally {
      await gpu.unload();
    }
  });

  it("onnxruntime's threads sleep between runs unless spinWait is set (spinning burns the cores other engines need)", async () => {
    const create = vi.spyOn(ort.InferenceSession, "create");
    try {
      for (const spinWait of [undefined, true]) {
        create.mockClear();
        const e = await loadEngine({ voiceDirs: [dir], threads: 1, ...(spinWait === undefined ? {} : { spinWait }) });
        try {
          await collect(e.synthesize(request("Threads and waiting.", "test-single", { options: quiet }), new AbortController().signal));
          const options = create.mock.calls.at(-1)![1] as { extra?: { session?: Record<string, { allow_spinning?: string }> } };
          const want = spinWait ? "1" : "0";
          expect(options.extra?.session?.intra_op?.allow_spinning).toBe(want);
          expect(options.extra?.session?.inter_op?.allow_spinning).toBe(want);
        } finally {
          await e.unload();
        }
      }
    } finally {
      create.mockRestore();
    }
  });

  it("invalid settings fail the load with the field named", async () => {
    await expect(loadEngine({ voiceDirs: "voices", threads: -1 })).rejects.toThrow(/engines\.settings\.piper.*voiceDirs/);
  });
});
