/**
 * PCM crosses the worker-thread boundary by transfer, never by copy (docs/protocol.md,
 * "Transports"): the engine runtime (engine-runtime.ts) puts each chunk's buffer in the
 * transfer list and the worker transport (`portChannel`, what worker-thread-main.ts uses) passes
 * it to postMessage, so right after posting the runtime's buffer is detached (byteLength 0) and
 * the same bytes arrive on the other side. Real runtime and transport on a real MessageChannel
 * (as between a worker and the host), with the flood fixture engine (1 MiB chunks, which the
 * runtime splits into pieces of MAX_CHUNK_BYTES). If either drops the transfer list, the
 * buffers stay attached and this test fails.
 */
import { afterEach, describe, expect, it } from "vitest";
import { portChannel, runEngine } from "../../core/registry/engine-runtime.ts";
import { MAX_CHUNK_BYTES, type EngineToHost, type HostToEngine } from "../../core/registry/protocol.ts";
import { closeChannels, collect, floodChannel } from "./helpers.ts";

const MIB = 1024 * 1024;
afterEach(closeChannels);

describe("PCM across the worker boundary", () => {
  it("is transferred: the sender's buffer is detached after each chunk is posted, the receiver gets every byte", async () => {
    const { engineSide, hostSide, boot } = floodChannel();
    // The transport as the worker uses it, watched: what each chunk's buffer is right after posting.
    const afterPost: number[] = [];
    const watched = {
      postMessage: (message: EngineToHost, transfer?: ArrayBuffer[]) => {
        engineSide.postMessage(message, transfer ?? []);
        if (message.type === "chunk") afterPost.push(message.samples.buffer.byteLength);
      },
      on: engineSide.on.bind(engineSide),
    } as unknown as Parameters<typeof portChannel>[0];
    const received: Int16Array[] = [];
    const done = new Promise<EngineToHost>((resolve) => {
      hostSide.on("message", (m: EngineToHost) => {
        if (m.type === "chunk") received.push(m.samples);
        if (m.type === "result" || m.type === "error") resolve(m);
      });
    });
    const ready = new Promise<void>((resolve) => hostSide.once("message", (m: EngineToHost) => m.type === "ready" && resolve()));
    void runEngine(
      boot,
      portChannel(watched, () => {}),
    );
    await ready;
    const synthesize: HostToEngine = { type: "synthesize", id: 1, request: { text: "one two", voice: "a", speed: 1, pitch: 1, options: {} }, credits: 64 };
    hostSide.postMessage(synthesize);
    expect(await done).toMatchObject({ type: "result", id: 1 });

    const pieces = (2 * MIB) / MAX_CHUNK_BYTES; // two 1 MiB chunks, split
    expect(afterPost).toEqual(Array(pieces).fill(0)); // every buffer moved away from the sender
    expect(received).toHaveLength(pieces);
    for (const samples of received) {
      expect(samples.byteLength).toBe(MAX_CHUNK_BYTES);
      expect(samples.every((s) => s === 1000)).toBe(true);
    }
  });

  it("a chunk the engine hands over (transfer, its whole buffer, within the limit) is moved as it is; other chunks are copied", async () => {
    const { engineSide, hostSide, boot } = floodChannel();
    const received: Int16Array[] = [];
    let finished: () => void = () => {};
    hostSide.on("message", (m: EngineToHost) => {
      if (m.type === "chunk") received.push(m.samples);
      if (m.type === "result" || m.type === "error") finished();
    });
    await new Promise<void>((resolve) => {
      hostSide.once("message", () => resolve());
      void runEngine(
        boot,
        portChannel(engineSide, () => {}),
      );
    });
    const yielded = (globalThis as { floodYielded?: Int16Array[] }).floodYielded!;
    const run = async (id: number, options: Record<string, unknown>) => {
      yielded.length = 0;
      received.length = 0;
      const done = new Promise<void>((resolve) => (finished = resolve));
      hostSide.postMessage({
        type: "synthesize",
        id,
        request: { text: "one two three", voice: "a", speed: 1, pitch: 1, options },
        credits: 64,
      } satisfies HostToEngine);
      await done;
    };
    await run(1, { handOver: true });
    expect(yielded).toHaveLength(3);
    // Moved: the engine's own arrays are empty now, and the host got their 256 KiB each.
    expect(yielded.map((s) => s.byteLength)).toEqual([0, 0, 0]);
    expect(received.map((s) => s.byteLength)).toEqual([MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, MAX_CHUNK_BYTES]);
    expect(received.every((s) => s.every((v) => v === 1000))).toBe(true);
    await run(2, {});
    // Copied into pieces: the engine keeps its arrays (it may reuse them).
    expect(yielded.map((s) => s.byteLength)).toEqual([MIB, MIB, MIB]);
    expect(received).toHaveLength((3 * MIB) / MAX_CHUNK_BYTES);
  });

  it("the thread's memory reading rides on each chunk: one message per chunk, not a usage message beside it", async () => {
    const { engineSide, hostSide, boot } = floodChannel();
    const { messages, done } = collect(hostSide);
    let readings = 0;
    // A reporter whose timer never fires within the test: only the start-up report and the chunks' readings.
    const usage = { everyMs: 3_600_000, sample: () => ({ heapMb: ++readings, externalMb: 0.5 }) };
    void runEngine(
      boot,
      portChannel(engineSide, () => {}),
      usage,
    );
    await expect.poll(() => messages.some((m) => m.type === "ready")).toBe(true);
    const before = messages.length; // the start-up report and `ready`
    hostSide.postMessage({
      type: "synthesize",
      id: 1,
      request: { text: "one two", voice: "a", speed: 1, pitch: 1, options: {} },
      credits: 64,
    } satisfies HostToEngine);
    await done;
    const chunks = messages.filter((m) => m.type === "chunk");
    expect(chunks).toHaveLength((2 * MIB) / MAX_CHUNK_BYTES);
    // Each chunk has its own, fresh reading (the counter goes up), and no usage message came with them.
    const heap = chunks.map((c) => c.usage?.heapMb);
    expect(heap.every((h) => typeof h === "number")).toBe(true);
    expect([...heap].sort((a, b) => a! - b!)).toEqual(heap);
    expect(new Set(heap).size).toBe(chunks.length);
    expect(messages.slice(before).filter((m) => m.type === "usage")).toHaveLength(0);
  });

  it("the check can fail: a buffer posted without a transfer list is copied and stays attached", async () => {
    const { engineSide, hostSide } = floodChannel();
    const got = new Promise<Int16Array>((resolve) => hostSide.once("message", (m: { samples: Int16Array }) => resolve(m.samples)));
    const samples = new Int16Array(1024).fill(7);
    engineSide.postMessage({ samples });
    expect(samples.buffer.byteLength).toBe(2048);
    expect((await got).length).toBe(1024);
  });
});
