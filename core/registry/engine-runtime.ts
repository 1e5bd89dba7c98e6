/**
 * The engine side of the message contract: runs inside a worker thread or child process,
 * imports the plugin's entry module, creates its Engine and serves the host's requests.
 */
import type { Engine, EngineLogger } from "../sdk/engine.ts";
import { AbortError, serializeError } from "../sdk/errors.ts";
import type { EngineBootData, EngineToHost, HostToEngine } from "./protocol.ts";

export interface Channel {
  send(message: EngineToHost, transfer?: ArrayBuffer[]): void;
  onMessage(handler: (message: HostToEngine) => void): void;
}

export async function runEngine(boot: EngineBootData, channel: Channel): Promise<void> {
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
    engine = await (definition as { create: (c: unknown) => Engine | Promise<Engine> }).create({
      manifest: boot.manifest,
    });
  } catch (err) {
    channel.send({ type: "boot-failed", error: serializeError(err) });
    return;
  }

  const running = new Map<number, AbortController>();

  const answer = async (id: number, work: () => Promise<unknown>) => {
    try {
      channel.send({ type: "result", id, value: await work() });
    } catch (err) {
      channel.send({ type: "error", id, error: serializeError(err) });
    }
  };

  channel.onMessage((message) => {
    switch (message.type) {
      case "load":
        void answer(message.id, () => engine.load({ ...message.context, log }));
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
      case "abort":
        running.get(message.id)?.abort();
        break;
      case "ping":
        channel.send({ type: "pong", id: message.id });
        break;
      case "synthesize": {
        const controller = new AbortController();
        running.set(message.id, controller);
        void answer(message.id, async () => {
          try {
            for await (const chunk of engine.synthesize(message.request, controller.signal)) {
              if (controller.signal.aborted) throw new AbortError();
              // Copy into a fresh buffer we can transfer (the engine may reuse its own).
              const samples = new Int16Array(chunk.samples);
              channel.send(
                { type: "chunk", id: message.id, sampleRate: chunk.sampleRate, samples },
                [samples.buffer as ArrayBuffer],
              );
              // Let the worker's event loop run, so that an `abort` (or `ping`) from the host
              // is seen between chunks instead of after the whole synthesis.
              await new Promise((resolve) => setImmediate(resolve));
            }
            if (controller.signal.aborted) throw new AbortError();
          } finally {
            running.delete(message.id);
          }
        });
        break;
      }
    }
  });
  channel.send({ type: "ready" });
}
