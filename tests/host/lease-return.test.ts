import { afterAll, expect, it } from "vitest";
import { speechRequest, testHost } from "../helpers/host.ts";
import { until } from "../helpers/wait.ts";

const host = testHost();
afterAll(() => host.close());

it("closing the chunks before reading them gives the lease back", async () => {
  const speech = await host.pipeline.start(speechRequest({ text: "First. Second sentence here." }), new AbortController().signal);
  await speech.chunks.return(undefined);
  expect(host.scheduler.residents().find((r) => r.engineId === "espeak")?.inFlight).toBe(0);
});

it("rejects speed and pitch out of range before any lease, naming the field", () => {
  expect(() => speechRequest({ text: "Hi.", speed: 0 })).toThrow(expect.objectContaining({ code: "CHORUS_ERR_REQUEST_INVALID", field: "speed" }));
  expect(() => speechRequest({ text: "Hi.", pitch: 9 })).toThrow(expect.objectContaining({ field: "pitch" }));
});

it("a speech stopped part way ends with a cancellation, not as if the text were done", async () => {
  const controller = new AbortController();
  const speech = await host.pipeline.start(speechRequest({ text: "First. Second. Third. Fourth. Fifth." }), controller.signal);
  const first = await speech.chunks.next();
  expect(first.done).toBe(false);
  controller.abort(new Error("stopped by the test"));
  const drain = async () => {
    for await (const _ of speech.chunks) void _;
  };
  await expect(drain()).rejects.toMatchObject({ name: "AbortError" });
  expect(host.scheduler.residents().find((r) => r.engineId === "espeak")?.inFlight).toBe(0);
});

it("a reader that does not keep up does not hold the engine: the lease ends when synthesis ends", async () => {
  const text = Array.from({ length: 12 }, (_, i) => `This is sentence number ${i + 1} of a long text.`).join(" ");
  const slow = await host.pipeline.start(speechRequest({ text, engine: "flite" }), new AbortController().signal);
  const first = await slow.chunks.next(); // then the reader stalls
  const inFlight = () => host.scheduler.residents().find((r) => r.engineId === "flite")?.inFlight;
  await until(() => inFlight() === 0, "the lease to end with the synthesis");
  // Another request gets the engine while the first reader still has audio to collect...
  const other = await host.pipeline.start(speechRequest({ text: "Quick one.", engine: "flite" }), new AbortController().signal);
  for await (const _ of other.chunks) void _;
  // ...and the stalled reader still gets every sentence.
  let samples = first.value!.samples.length;
  for await (const chunk of slow.chunks) samples += chunk.samples.length;
  expect(samples / slow.sampleRate).toBeGreaterThan(12 * 1.5);
});

it("an engine chunk with an impossible sample rate is an engine failure, not a broken WAV", async () => {
  const { checkedChunk } = await import("../../core/synth/chunks.ts");
  expect(() => checkedChunk({ sampleRate: 0, samples: new Int16Array(4) }, "x")).toThrow(/invalid sample rate \(0\)/);
  expect(() => checkedChunk({ sampleRate: Number.NaN, samples: new Int16Array(4) }, "x")).toThrow(/invalid sample rate/);
  expect(() => checkedChunk({ sampleRate: 16000, samples: [1, 2] as unknown as Int16Array }, "x")).toThrow(/not Int16 PCM/);
  expect(checkedChunk({ sampleRate: 16000, samples: new Int16Array(4) }, "x").sampleRate).toBe(16000);
});

it("text with a lone surrogate is a 400 naming the field, before any engine runs", () => {
  expect(() => speechRequest({ text: "abc \ud800 def." })).toThrow(
    expect.objectContaining({ code: "CHORUS_ERR_REQUEST_INVALID", field: "text", message: expect.stringMatching(/lone surrogate, U\+D800, at position 4/) }),
  );
});
