/**
 * Flow control (docs/protocol.md, "Credits"): an engine that splits its own text and yields
 * 64 x 1 MiB as fast as it can, read by a reader that stops reading, cannot make the host hold
 * more than the documented bound: the credit window per request (INITIAL_CREDITS x
 * MAX_CHUNK_BYTES) below the engine host, plus the pipeline's read-ahead above it. Measured
 * with the host's own byte counters, after a round trip through the engine (`listVoices`)
 * shows nothing more was on its way. Both transports: worker thread (transferred PCM) and
 * child process (framed fd 3).
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createHost, type Host } from "../../core/host.ts";
import { validateSpeech } from "../../core/request/speech-request.ts";
import { EngineHost } from "../../core/registry/engine-host.ts";
import { readPluginFolder } from "../../core/registry/plugin-folder.ts";
import { INITIAL_CREDITS, MAX_CHUNK_BYTES } from "../../core/registry/protocol.ts";
import { synthesisQueuedBytes } from "../../core/registry/synthesis-stream.ts";
import { DEFAULT_READ_AHEAD, readAheadBytes, streamHoldBound } from "../../core/synth/read-ahead.ts";
import { captureLog, registryConfig, tempDir, until } from "./helpers.ts";

const FLOOD = path.resolve(import.meta.dirname, "fixtures/flood");
const MIB = 1024 * 1024;
const TEXT = Array.from({ length: 64 }, (_, i) => `w${i}`).join(" "); // 64 chunks of 1 MiB
const request = { text: TEXT, voice: "a", speed: 1, pitch: 1, options: {} };
const yieldedBy = (voices: { description?: string }[]) => Number(/yielded (\d+)/.exec(voices[0]?.description ?? "")?.[1]);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe.each(["worker", "process"] as const)("flow control (%s isolation)", (isolation) => {
  it("the engine host queues at most the credit window for a reader that stops", async () => {
    const entry = readPluginFolder(FLOOD);
    if (entry.status !== "available") throw new Error(entry.error);
    const manifest = { ...entry.manifest, isolation };
    const { log, lines } = captureLog();
    const host = new EngineHost({ manifest, pluginDir: FLOOD, log });
    cleanups.push(() => host.terminate());
    await host.start();
    await host.load({
      profile: manifest.resources.profiles[0]!,
      device: { kind: "cpu", index: 0, simulated: false },
      pluginDir: FLOOD,
      settings: {},
      dataDir: tempDir("flood"),
    });
    const controller = new AbortController();
    const chunks = host.synthesize(request, controller.signal);
    const first = await chunks.next(); // then the reader stops
    expect(first.value!.samples.byteLength).toBe(MAX_CHUNK_BYTES); // the runtime split the 1 MiB chunk
    const window = INITIAL_CREDITS * MAX_CHUNK_BYTES;
    await until(() => synthesisQueuedBytes() === window, 20_000, "the credit window to fill").catch((e) => {
      throw new Error(`${e.message}: queued ${synthesisQueuedBytes()}`);
    });
    const yielded = yieldedBy(await host.listVoices());
    expect(synthesisQueuedBytes()).toBe(window); // nothing beyond the window arrived meanwhile
    // INITIAL_CREDITS + 1 pieces of 256 KiB sent (the first one was read): the generator was
    // resumed for only as many of its 64 chunks of 1 MiB as those pieces need (3 with 8 credits).
    expect(yielded).toBeLessThanOrEqual(Math.ceil(((INITIAL_CREDITS + 1) * MAX_CHUNK_BYTES) / MIB));
    controller.abort();
    await expect(chunks.next()).rejects.toMatchObject({ name: "AbortError" });
    expect(synthesisQueuedBytes()).toBe(0);
    if (isolation === "process") {
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ stream: "stdout", level: 30, msg: "flood: printed on stdout" }),
          expect.objectContaining({ stream: "stderr", level: 40, msg: "flood: printed on stderr" }),
        ]),
      );
    }
  });

  it("through the pipeline, the host holds no more than the documented bound", async () => {
    const root = tempDir("flood-root");
    fs.cpSync(FLOOD, path.join(root, "flood"), { recursive: true });
    const file = path.join(root, "flood", "plugin.json");
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), isolation }));
    const chorus: Host = createHost(registryConfig([root], { engines: { dirs: [root], default: "flood" } }), { log: captureLog().log });
    cleanups.push(() => chorus.close());
    const stream = await chorus.pipeline.start(validateSpeech({ text: TEXT, engine: "flood" }, chorus.config.text), new AbortController().signal);
    cleanups.unshift(() => stream.chunks.return(undefined));
    const held = () => readAheadBytes() + synthesisQueuedBytes();
    const expected = DEFAULT_READ_AHEAD.streamBytes + INITIAL_CREDITS * MAX_CHUNK_BYTES;
    await until(() => held() === expected, 30_000, "the read-ahead and the credit window to fill").catch((e) => {
      throw new Error(`${e.message}: ${readAheadBytes()} + ${synthesisQueuedBytes()}`);
    });
    const lease = await chorus.scheduler.acquire({ engineId: "flood", fallback: false });
    const yielded = yieldedBy(await lease.engine.listVoices());
    lease.release();
    expect(held()).toBe(expected); // stable: nothing more was on its way
    expect(held()).toBeLessThanOrEqual(streamHoldBound());
    expect(streamHoldBound()).toBe(10.25 * MIB); // docs/protocol.md: 8 MiB + 9 x 256 KiB
    // The engine was held back too: of 64 MiB it made little more than what the host holds.
    expect(yielded * MIB).toBeLessThanOrEqual(expected + 2 * MIB);
    expect(yielded).toBeLessThan(64);
  });
});
