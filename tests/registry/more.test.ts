/**
 * `synthesize.more` (protocol 1.1, docs/protocol.md): texts spoken after the request's text in
 * the same request, so the engine goes on without a round trip through the host.
 * - The Node runtime (real runEngine on a MessageChannel, the flood fixture engine) calls the
 *   engine once per text, in order, sends all their chunks under the one id, then one result.
 * - The host side (EngineCalls, on a stand-in link that records what is posted and answers as
 *   a runtime would): to a 1.1 runtime the texts go in one `synthesize` with `more`; to a 1.0
 *   runtime as separate requests, each posted only after the one before has its result.
 */
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { EngineCalls } from "../../core/registry/engine-calls.ts";
import { portChannel, runEngine } from "../../core/registry/engine-runtime.ts";
import { speaksMore, type EngineToHost, type HostToEngine } from "../../core/registry/protocol.ts";
import type { Link } from "../../core/registry/worker-link.ts";
import { closeChannels, collect, floodChannel } from "./helpers.ts";

afterEach(closeChannels);

describe("synthesize.more in the Node runtime", () => {
  it("speaks the request's text, then each of `more`, one engine call each, under one id and one result", async () => {
    const { engineSide, hostSide, boot } = floodChannel();
    const { messages, done } = collect(hostSide);
    void runEngine(
      boot,
      portChannel(engineSide, () => {}),
    );
    await new Promise<void>((resolve) => hostSide.once("message", (m: EngineToHost) => m.type === "ready" && resolve()));
    const texts = (globalThis as { floodTexts?: string[] }).floodTexts!;
    texts.length = 0;
    hostSide.postMessage({
      type: "synthesize",
      id: 7,
      request: { text: "one", voice: "a", speed: 1, pitch: 1, options: { handOver: true } },
      more: ["two three", "four"],
      credits: 64,
    } satisfies HostToEngine);
    await done;
    expect(texts).toEqual(["one (continues)", "two three (continues)", "four"]); // each but the last says more follows
    const answers = messages.filter((m) => m.type === "chunk" || m.type === "result" || m.type === "error");
    expect(answers.map((m) => m.type)).toEqual(["chunk", "chunk", "chunk", "chunk", "result"]); // one chunk per word
    expect(answers.every((m) => "id" in m && m.id === 7)).toBe(true);
  });
});

/**
 * A stand-in for a worker link: records posts; answers each synthesize text with one chunk per
 * text, then a result, a few turns of the event loop later; counts posts made while another
 * synthesize was still unanswered.
 */
function standInLink(calls: () => EngineCalls): { link: Link; posted: HostToEngine[]; overlaps: () => number } {
  const posted: HostToEngine[] = [];
  let open = 0;
  let overlaps = 0;
  const later = (fn: () => void, turns = 3) => (turns ? setImmediate(() => later(fn, turns - 1)) : fn());
  const link: Link = {
    post(message) {
      posted.push(message);
      if (message.type !== "synthesize") return;
      if (open++) overlaps++;
      const texts = [message.request.text, ...(message.more ?? [])];
      later(() => {
        for (const text of texts) calls().route({ type: "chunk", id: message.id, sampleRate: 16000, samples: new Int16Array(text.length) });
        open--;
        calls().route({ type: "result", id: message.id });
      });
    },
    kill: async () => {},
    shutdown: async () => {},
  };
  return { link, posted, overlaps: () => overlaps };
}

describe("synthesize.more from the host (EngineCalls)", () => {
  const request = { text: "a", voice: "v", speed: 1, pitch: 1, options: {} };
  const run = async (protocol: string) => {
    let calls!: EngineCalls;
    const { link, posted, overlaps } = standInLink(() => calls);
    calls = new EngineCalls({ log: pino({ level: "silent" }), link: () => link, speaksMore: () => speaksMore(protocol), hung: () => {} });
    const lengths: number[] = [];
    for await (const chunk of calls.synthesize(request, new AbortController().signal, 5, ["bb", "ccc"])) lengths.push(chunk.samples.length);
    return { lengths, synthesizes: posted.filter((m) => m.type === "synthesize"), overlaps: overlaps() };
  };

  it("sends a 1.1 runtime one request with `more`", async () => {
    const { lengths, synthesizes } = await run("1.1.0");
    expect(lengths).toEqual([1, 2, 3]);
    expect(synthesizes).toHaveLength(1);
    expect(synthesizes[0]).toMatchObject({ request: { text: "a" }, more: ["bb", "ccc"] });
  });

  it("sends a 1.0 runtime one request per text, in order, never with `more`", async () => {
    const { lengths, synthesizes, overlaps } = await run("1.0.0");
    expect(lengths).toEqual([1, 2, 3]);
    expect(overlaps).toBe(0); // each posted after the one before had its result
    expect(synthesizes.map((m) => (m.type === "synthesize" ? [m.request.text, m.more, m.request.continues] : []))).toEqual([
      ["a", undefined, true],
      ["bb", undefined, true],
      ["ccc", undefined, undefined],
    ]);
  });

  it("speaksMore reads the minor version", () => {
    expect([speaksMore("1.0.0"), speaksMore("1.1.0"), speaksMore("1.12.3"), speaksMore(undefined), speaksMore("2.1.0")]).toEqual([
      false,
      true,
      true,
      false,
      false,
    ]);
  });
});
