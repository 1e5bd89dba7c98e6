/** The embedded engines, each in its own worker, through the registry. */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineHost } from "../../core/registry/engine-host.ts";
import { Registry } from "../../core/registry/registry.ts";
import type { AudioChunk, SynthesisRequest } from "../../packages/sdk/src/index.ts";
import { EngineError } from "../../packages/sdk/src/index.ts";
import { wavFile } from "../../core/audio/output/wav.ts";
import { decodeWav, expectSpeech } from "../helpers/audio.ts";
import { testConfig } from "../helpers/host.ts";

const registry = Registry.create(testConfig(), pino({ level: "silent" }));
registry.scan();

async function collect(engine: EngineHost, request: Partial<SynthesisRequest> & { text: string; voice: string }, signal = new AbortController().signal) {
  const chunks: AudioChunk[] = [];
  for await (const c of engine.synthesize({ speed: 1, pitch: 1, options: {}, ...request }, signal)) chunks.push(c);
  return decodeWav(
    wavFile(
      chunks[0]!.sampleRate,
      chunks.map((c) => c.samples),
    ),
  );
}

function zeroCrossingRate(samples: Int16Array): number {
  let n = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) n++;
  return n / samples.length;
}

describe.each([
  ["espeak", "en-us", 22050],
  ["flite", "slt", 16000],
])("%s", (id, voice, rate) => {
  let engine: EngineHost;
  beforeAll(async () => {
    const manifest = registry.manifest(id)!;
    engine = await registry.startEngine(id, manifest.resources.profiles[0]!);
  });
  afterAll(() => engine.terminate());

  it("lists its voices", async () => {
    const voices = await engine.listVoices();
    expect(voices.map((v) => v.id)).toContain(voice);
  });

  it("speaks, at a length that follows the text", async () => {
    const short = await collect(engine, { text: "Hello.", voice });
    const long = await collect(engine, { text: "Hello. This sentence is quite a lot longer than the first one was.", voice });
    expect(short.sampleRate).toBe(rate);
    expectSpeech(long, 13);
    expect(long.durationSeconds).toBeGreaterThan(short.durationSeconds * 3);
  });

  it("stays warm and consistent over many requests", async () => {
    const first = await collect(engine, { text: "Repeat after me.", voice });
    for (let i = 0; i < 40; i++) await collect(engine, { text: `Request number ${i}.`, voice });
    const again = await collect(engine, { text: "Repeat after me.", voice });
    expect(again.samples.length).toBe(first.samples.length);
    expect(Buffer.from(again.samples.buffer).equals(Buffer.from(first.samples.buffer))).toBe(true);
  });

  it("calls that overlap (an aborted request's work still finishing) each get a sound result", async () => {
    const aborted = new AbortController();
    const first = collect(engine, { text: "This one is stopped.", voice }, aborted.signal).catch(() => undefined);
    aborted.abort();
    const results = await Promise.all([first, ...Array.from({ length: 4 }, () => collect(engine, { text: "Overlapping calls.", voice }))]);
    const spoken = results.slice(1) as Awaited<ReturnType<typeof collect>>[];
    for (const r of spoken) expect(Buffer.from(r.samples.buffer).equals(Buffer.from(spoken[0]!.samples.buffer))).toBe(true);
    expectSpeech(spoken[0]!, 2);
  });

  it("speaks faster with speed", async () => {
    const normal = await collect(engine, { text: "One two three four five six seven eight.", voice });
    const fast = await collect(engine, { text: "One two three four five six seven eight.", voice, speed: 2 });
    expect(fast.durationSeconds).toBeLessThan(normal.durationSeconds * 0.75);
  });

  it("refuses an unknown voice with a typed error", async () => {
    await expect(collect(engine, { text: "Hi.", voice: "nobody" })).rejects.toMatchObject({ code: "ENGINE_VOICE_NOT_FOUND" });
  });

  it("does no work for an aborted request", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(collect(engine, { text: "Hi.", voice }, controller.signal)).rejects.toBeInstanceOf(EngineError);
  });
});

describe("espeak specifics", () => {
  let engine: EngineHost;
  beforeAll(async () => {
    engine = await registry.startEngine("espeak", registry.manifest("espeak")!.resources.profiles[0]!);
  });
  afterAll(() => engine.terminate());

  it("raises pitch", async () => {
    const low = await collect(engine, { text: "Aaaaah.", voice: "en-us", pitch: 0.5 });
    const high = await collect(engine, { text: "Aaaaah.", voice: "en-us", pitch: 1.9 });
    expect(zeroCrossingRate(high.samples)).toBeGreaterThan(zeroCrossingRate(low.samples));
  });

  it("speaks other languages", async () => {
    expectSpeech(await collect(engine, { text: "Guten Tag, wie geht es Ihnen heute?", voice: "de" }), 7);
    expectSpeech(await collect(engine, { text: "Bonjour tout le monde, comment allez-vous?", voice: "fr-fr" }), 6);
  });
});
