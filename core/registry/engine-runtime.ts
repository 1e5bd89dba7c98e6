/**
 * The engine side of the protocol (docs/protocol.md) in Node: runs inside a worker thread or
 * child process, imports the plugin's entry module, creates its Engine and serves the host's
 * requests. Chunks go out only against credit: the engine's generator is not asked for more
 * audio while the host has granted none, so a host whose reader stalls holds at most
 * `credits x MAX_CHUNK_BYTES` for the request, whatever the engine does.
 */
import type { AudioChunk, Engine, EngineLogger, LoadContext } from "../../packages/sdk/src/index.ts";
import { SynthesisAbortedError } from "../../packages/sdk/src/index.ts";
import { SDK_VERSION } from "../../packages/sdk/src/index.ts";
import { MAX_CHUNK_BYTES, PROTOCOL_VERSION, continuing, type EngineBootData, type EngineToHost, type HostToEngine, type WireLoadContext } from "./protocol.ts";
import { toWireError } from "./wire-errors.ts";
import type { MessagePort } from "node:worker_threads";

export interface Channel {
  /** `transfer`: buffers the message hands over (moved, not copied, where the transport can). */
  send(message: EngineToHost, transfer?: ArrayBuffer[]): void;
  onMessage(handler: (message: HostToEngine) => void): void;
  /** Ends the runtime (`shutdown`). */
  exit(): void;
}

/** The worker-thread transport: messages on `port`, the transfer list passed on (PCM moved, not copied). */
export function portChannel(port: Pick<MessagePort, "postMessage" | "on">, exit: () => void): Channel {
  return {
    send: (message, transfer) => port.postMessage(message, transfer ?? []),
    onMessage: (handler) => port.on("message", (m: HostToEngine) => handler(m)),
    exit,
  };
}

/** Credits of one synthesis: `take` waits for one, `grant` adds some, `close` wakes the waiter. */
class Credits {
  private waiter: (() => void) | undefined;
  constructor(private available: number) {}
  grant(n: number): void {
    this.available += Math.max(0, Math.floor(n));
    this.wake();
  }
  async take(signal: AbortSignal): Promise<void> {
    while (this.available <= 0 && !signal.aborted) await new Promise<void>((r) => (this.waiter = r));
    this.available--;
  }
  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/** Memory reports of a worker thread's runtime (see usage-report.ts). */
export interface UsageReporter {
  everyMs: number;
  sample(): { heapMb: number; externalMb: number };
}

export async function runEngine(boot: EngineBootData, channel: Channel, usage?: UsageReporter): Promise<void> {
  // Reports start before the plugin's code is imported: its top level may allocate too.
  const reportUsage = usage ? () => channel.send({ type: "usage", ...usage.sample() }) : () => {};
  if (usage) {
    reportUsage();
    setInterval(reportUsage, usage.everyMs).unref();
  }
  const log: EngineLogger = {
    debug: (msg, extra) => channel.send({ type: "log", level: "debug", msg, extra }),
    info: (msg, extra) => channel.send({ type: "log", level: "info", msg, extra }),
    warn: (msg, extra) => channel.send({ type: "log", level: "warn", msg, extra }),
    error: (msg, extra) => channel.send({ type: "log", level: "error", msg, extra }),
  };
  let engine: Engine;
  try {
    const mod = (await import(boot.entryUrl)) as { default?: { create?: unknown } };
    const definition = mod.default;
    if (!definition || typeof definition.create !== "function") {
      throw new Error(`entry ${boot.manifest.entry} has no default export from definePlugin()`);
    }
    engine = await (definition as { create: (c: unknown) => Engine | Promise<Engine> }).create({ manifest: boot.manifest });
  } catch (err) {
    channel.send({ type: "boot-failed", error: toWireError(err) });
    return;
  }

  const running = new Map<number, { controller: AbortController; credits: Credits }>();
  const answer = async (id: number, work: () => Promise<unknown>) => {
    try {
      channel.send({ type: "result", id, value: await work() });
    } catch (err) {
      channel.send({ type: "error", id, error: toWireError(err) });
    }
  };
  const loadContext = (wire: WireLoadContext): LoadContext => {
    const profile = boot.manifest.resources.profiles.find((p) => p.name === wire.profile);
    if (!profile) throw new Error(`load: the manifest has no profile '${wire.profile}'`);
    const reportMemory: LoadContext["reportMemory"] = (m) => channel.send({ type: "memory", ...m });
    const { maxChunkBytes: _, ...rest } = wire;
    return { ...rest, profile, log, reportMemory };
  };

  const synthesize = async (message: Extract<HostToEngine, { type: "synthesize" }>, signal: AbortSignal, credits: Credits) => {
    // The request's text, then each of `more` (protocol 1.1) with the same parameters.
    const texts = [message.request.text, ...(message.more ?? [])];
    for (const [index, text] of texts.entries()) {
      for await (const chunk of engine.synthesize(texts.length === 1 ? message.request : continuing(message.request, text, index < texts.length - 1), signal)) {
        if (signal.aborted) throw new SynthesisAbortedError();
        for (const piece of pieces(chunk)) {
          await credits.take(signal);
          if (signal.aborted) throw new SynthesisAbortedError();
          // The thread's memory goes with every chunk, in the chunk's own message (one post, not two).
          const reading = usage?.sample();
          channel.send({ type: "chunk", id: message.id, sampleRate: chunk.sampleRate, samples: piece, ...(reading ? { usage: reading } : {}) }, [
            piece.buffer as ArrayBuffer,
          ]);
        }
        // Let the event loop run, so that `abort`, `credit` and `ping` are seen between chunks.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (signal.aborted) throw new SynthesisAbortedError();
    }
    if (signal.aborted) throw new SynthesisAbortedError();
  };

  channel.onMessage((message) => {
    switch (message.type) {
      case "load":
        void answer(message.id, () => engine.load(loadContext(message.context)));
        break;
      case "unload":
        void answer(message.id, () => engine.unload());
        break;
      case "voices":
        void answer(message.id, () => engine.listVoices());
        break;
      case "health":
        void answer(message.id, async () => (engine.health ? engine.health() : { ok: true }));
        break;
      case "credit":
        running.get(message.id)?.credits.grant(message.n);
        break;
      case "abort": {
        const run = running.get(message.id);
        run?.controller.abort();
        run?.credits.wake();
        break;
      }
      case "ping":
        channel.send({ type: "pong", id: message.id });
        break;
      case "shutdown":
        for (const run of running.values()) run.controller.abort();
        channel.exit();
        break;
      case "synthesize": {
        const run = { controller: new AbortController(), credits: new Credits(message.credits) };
        running.set(message.id, run);
        void answer(message.id, () => synthesize(message, run.controller.signal, run.credits).finally(() => running.delete(message.id)));
        break;
      }
    }
  });
  channel.send({ type: "ready", sdk: SDK_VERSION, protocol: PROTOCOL_VERSION, runtime: `node ${process.versions.node}` });
}

/**
 * The chunk as pieces of at most MAX_CHUNK_BYTES, each in a buffer of its own that can be
 * transferred (the engine may reuse its buffer, or hand out a view of a larger one). A chunk
 * the engine hands over (`transfer`, e.g. the SDK's wavChunks) that is its whole buffer and
 * small enough is sent as it is: moved to the host, not copied.
 */
function* pieces(chunk: AudioChunk): Generator<Int16Array> {
  const samples = chunk.samples;
  if (!(samples instanceof Int16Array)) throw new TypeError("synthesize() yielded a chunk whose samples are not an Int16Array");
  const step = MAX_CHUNK_BYTES / 2;
  if (samples.length === 0) return;
  if (chunk.transfer === true && handedOver(samples)) {
    yield samples;
    return;
  }
  for (let at = 0; at < samples.length; at += step) yield samples.slice(at, Math.min(samples.length, at + step));
}

/** An array that can be moved as it is: all of a plain (not shared) ArrayBuffer, within the chunk limit. */
function handedOver(samples: Int16Array): boolean {
  const buffer = samples.buffer;
  return buffer instanceof ArrayBuffer && samples.byteOffset === 0 && samples.byteLength === buffer.byteLength && samples.byteLength <= MAX_CHUNK_BYTES;
}
