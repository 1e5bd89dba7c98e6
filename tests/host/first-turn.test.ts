/**
 * The short first chunk and the rest of its sentence are one turn (text/first-chunk.ts,
 * speechTurns): the pipeline hands them to the engine as one call (LeasedEngine.synthesizeMore,
 * protocol 1.1 `synthesize.more`), so the engine never waits for a round trip between them,
 * and a turn is offered to other requests only between turns. Through the real SpeechPipeline
 * on a stand-in scheduler whose lease records what the engine was asked (the engine call and
 * the protocol below it are tested in tests/registry/more.test.ts).
 */
import fs from "node:fs";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManifestSchema } from "../../core/registry/manifest-schema.ts";
import type { Lease, LeasedEngine } from "../../core/scheduler/lease.ts";
import type { Scheduler } from "../../core/scheduler/scheduler.ts";
import { SpeechPipeline } from "../../core/synth/pipeline.ts";
import { registryLoader } from "../../core/scheduler/production.ts";
import type { Registry } from "../../core/registry/registry.ts";
import { OutOfMemoryError, type SynthesisRequest } from "../../packages/sdk/src/index.ts";
import { speechRequest, testConfig } from "../helpers/host.ts";
import { PARAGRAPH, TEN_SENTENCES } from "../helpers/texts.ts";

const espeak = ManifestSchema.parse(JSON.parse(fs.readFileSync(new URL("../../engines/espeak/plugin.json", import.meta.url), "utf8")));
const hostSplit = { ...espeak, capabilities: { ...espeak.capabilities, sentenceSplitting: "host" as const } };

type Asked = { call: "synthesize" | "synthesizeMore" | "turn"; texts: string[] };

/** A stand-in scheduler: one lease on an engine that yields one chunk per text and records each call and each turn offered. */
function pipelineOn(manifest: typeof espeak): { pipeline: SpeechPipeline; asked: Asked[] } {
  const asked: Asked[] = [];
  const chunk = (text: string) => ({ sampleRate: 22050, samples: new Int16Array(text.length) });
  const engine: LeasedEngine = {
    listVoices: async () => [{ id: "en-us", name: "English", languages: ["en"] }],
    async *synthesize(request: SynthesisRequest) {
      asked.push({ call: "synthesize", texts: [request.text] });
      yield chunk(request.text);
    },
    async *synthesizeMore(request: SynthesisRequest, more: readonly string[]) {
      asked.push({ call: "synthesizeMore", texts: [request.text, ...more] });
      for (const text of [request.text, ...more]) yield chunk(text);
    },
  };
  const lease: Lease = {
    engineId: manifest.id,
    profile: manifest.resources.profiles[0]!,
    engine,
    manifest,
    device: { kind: "cpu", index: 0, simulated: false },
    release: () => {},
    yieldTurn: async () => {
      asked.push({ call: "turn", texts: [] });
    },
  };
  const scheduler = { acquire: async () => lease } as unknown as Scheduler;
  const config = testConfig();
  return { pipeline: new SpeechPipeline(config, { current: () => manifest.id }, scheduler, pino({ level: "silent" })), asked };
}

async function speak(pipeline: SpeechPipeline, text: string): Promise<number> {
  const stream = await pipeline.start(speechRequest({ text }), new AbortController().signal);
  let samples = 0;
  for await (const c of stream.chunks) samples += c.samples.length;
  return samples;
}

describe("the first turn", () => {
  it("an engine that splits its own text gets the short first chunk and the rest in one call", async () => {
    const { pipeline, asked } = pipelineOn(espeak);
    await speak(pipeline, PARAGRAPH);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.call).toBe("synthesizeMore");
    expect(asked[0]!.texts[0]).toBe("The committee met on Tuesday to");
    expect(asked[0]!.texts.join(" ")).toBe(PARAGRAPH);
  });

  it("host-split sentences: the first sentence's two parts are one call, then a turn before each further sentence", async () => {
    const { pipeline, asked } = pipelineOn(hostSplit);
    await speak(pipeline, PARAGRAPH);
    expect(asked[0]).toEqual({ call: "synthesizeMore", texts: ["The committee met on Tuesday to", "review the proposal in detail."] });
    const rest = asked.slice(1);
    expect(rest).toEqual(
      TEN_SENTENCES.slice(1).flatMap((s) => [
        { call: "turn", texts: [] },
        { call: "synthesize", texts: [s] },
      ]),
    );
  });

  it("the production lease passes a turn's texts to the engine host in one call", async () => {
    const calls: string[] = [];
    const host = {
      synthesize: async function* () {
        calls.push("synthesize");
      },
      synthesizeMore: async function* (request: SynthesisRequest, more: readonly string[]) {
        calls.push(`synthesizeMore ${[request.text, ...more].join(" | ")}`);
      },
      once: () => {},
      on: () => {},
    };
    const loader = registryLoader({ startEngine: async () => host } as unknown as Registry);
    const loaded = await loader.load(espeak.id, espeak.resources.profiles[0]!, { device: { kind: "cpu", index: 0, simulated: false }, replicas: 1 });
    for await (const _ of loaded.synthesizeMore({ text: "a", voice: "v", speed: 1, pitch: 1, options: {} }, ["b"], new AbortController().signal)) void _;
    expect(calls).toEqual(["synthesizeMore a | b"]);
  });

  it("an out-of-memory after the short first chunk was heard: the same engine's retry does not say it twice", async () => {
    const asked: string[][] = [];
    const chunk = (text: string) => ({ sampleRate: 1000, samples: new Int16Array(text.length * 10) });
    let failing = true;
    const engine: LeasedEngine = {
      listVoices: async () => [{ id: "en-us", name: "English", languages: ["en"] }],
      async *synthesize() {
        throw new Error("not used");
      },
      async *synthesizeMore(request: SynthesisRequest, more: readonly string[]) {
        asked.push([request.text, ...more]);
        yield chunk(request.text);
        if (failing) {
          failing = false;
          throw new OutOfMemoryError("CUDA out of memory", { neededMb: 4096 });
        }
        for (const text of more) yield chunk(text);
      },
    };
    const lease = (profile: number): Lease => ({
      engineId: espeak.id,
      profile: { ...espeak.resources.profiles[0]!, name: `p${profile}` },
      engine,
      manifest: espeak,
      device: { kind: "cpu", index: 0, simulated: false },
      release: () => {},
      reportOutOfMemory: () => `${espeak.id}:p${profile}`,
    });
    let leases = 0;
    const scheduler = { acquire: async () => lease(leases++) } as unknown as Scheduler;
    const pipeline = new SpeechPipeline(testConfig(), { current: () => espeak.id }, scheduler, pino({ level: "silent" }));
    const samples = await speak(pipeline, PARAGRAPH);
    expect(leases).toBe(2); // placed again after the out-of-memory
    expect(asked).toHaveLength(2); // the whole turn asked again...
    const [head, rest] = asked[1]! as [string, string];
    expect(samples).toBe((head.length + rest.length) * 10); // ...but the head, already delivered, is skipped
  });
});
