/**
 * One Wyoming connection: reads events (bounded, see framing.ts), answers them in order and
 * writes with backpressure. `describe` -> `info`; `synthesize` -> one audio group;
 * `synthesize-start`/`-chunk`/`-stop` -> a group per sentence, then `synthesize-stopped`
 * (a `synthesize` while streaming is the compatibility copy and ignored); `ping` -> `pong`.
 * Request errors become `error` events (a failed synthesize still ends with its `audio-stop`,
 * a failed stream with `synthesize-stopped`) and the connection stays open; a malformed frame gets
 * an `error` and closes this connection only. The client going away cancels its synthesis.
 */
import type net from "node:net";
import type { Logger } from "pino";
import type { WyomingConfig } from "../config/wyoming-schema.ts";
import { ChorusError } from "../errors.ts";
import type { Registry } from "../registry/registry.ts";
import { SynthesisAbortedError } from "../../packages/sdk/src/index.ts";
import { toChorusError } from "../server/errors.ts";
import type { SpeechPipeline } from "../synth/pipeline.ts";
import { validateSpeech } from "../request/speech-request.ts";
import { audioStart, sendChunks } from "./audio-out.ts";
import { infoData, readText, readVoice } from "./events.ts";
import { encodeEvent, FrameError, FrameReader, type WyomingEvent } from "./framing.ts";
import type { WyomingMetrics } from "./metrics.ts";
import { resolveVoice } from "./resolve.ts";
import { SynthesisStream } from "./stream.ts";
import type { VoiceDirectory } from "./voices.ts";

export interface SessionDeps {
  config: WyomingConfig;
  /** text.maxLength. */
  maxTextLength: number;
  pipeline: SpeechPipeline;
  registry: Registry;
  voices: VoiceDirectory;
  log: Logger;
  metrics: WyomingMetrics;
}

/** Events waiting to be handled before reading pauses (a client cannot queue unbounded work). */
const MAX_QUEUED = 8;

export class WyomingSession {
  private readonly reader: FrameReader;
  private readonly gone = new AbortController();
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private stream?: SynthesisStream;
  private broken = false;
  /** Shutting down: no new requests; the connection ends when the one in hand is done. */
  private closing = false;
  private readonly log: Logger;

  constructor(
    private readonly socket: net.Socket,
    private readonly deps: SessionDeps,
  ) {
    this.reader = new FrameReader(deps.config);
    this.log = deps.log.child({ remote: `${socket.remoteAddress}:${socket.remotePort}` });
  }

  /** Resolves when the connection has closed and its work has stopped. */
  run(): Promise<void> {
    const { socket } = this;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => {
      if (!this.reader.idle) this.log.debug({ pending: this.reader.pending }, "wyoming client ended mid-event");
      // Half-closed: finish what was asked, then close our side.
      void this.chain.then(() => socket.end());
    });
    socket.on("error", (err) => this.log.debug({ err: err.message }, "wyoming socket error"));
    const idle = this.deps.config.idleTimeoutSeconds;
    if (idle > 0) {
      socket.setTimeout(idle * 1000, () => {
        this.log.info({ idleTimeoutSeconds: idle }, "wyoming connection idle; closing");
        socket.destroy();
      });
    }
    return new Promise((resolve) => {
      socket.once("close", () => {
        this.gone.abort(new SynthesisAbortedError("the Wyoming client went away"));
        if (this.stream) this.deps.metrics.requests.inc({ kind: "stream", result: "cancelled" });
        void Promise.allSettled([this.chain, this.stream?.settled()]).then(() => resolve());
      });
    });
  }

  /** Shutdown: ends the connection once the request in hand (a stream: up to its synthesize-stopped) is done. */
  closeWhenIdle(): void {
    this.closing = true;
    this.endIfIdle();
  }

  private endIfIdle(): void {
    if (this.closing && this.queued === 0 && !this.stream && !this.socket.destroyed) this.socket.end();
  }

  private onData(chunk: Buffer): void {
    if (this.broken || (this.closing && !this.stream)) return;
    let events: WyomingEvent[];
    try {
      events = this.reader.push(chunk);
    } catch (err) {
      this.protocolError(err instanceof FrameError ? err : new FrameError("CHORUS_ERR_REQUEST_MALFORMED", (err as Error).message));
      return;
    }
    for (const event of events) this.enqueue(event);
  }

  private enqueue(event: WyomingEvent): void {
    this.queued++;
    if (this.queued > MAX_QUEUED && !this.socket.isPaused()) this.socket.pause();
    this.chain = this.chain
      .then(() => this.handle(event))
      .catch((err: unknown) => this.report(err))
      .finally(() => {
        this.queued--;
        if (this.queued === 0 && this.socket.isPaused() && !this.broken) this.socket.resume();
        this.endIfIdle();
      });
  }

  private async handle(event: WyomingEvent): Promise<void> {
    if (this.gone.signal.aborted) return;
    switch (event.type) {
      case "describe":
        this.deps.metrics.requests.inc({ kind: "describe", result: "ok" });
        return this.send("info", infoData(this.deps.voices.list()));
      case "ping":
        return this.send("pong", typeof event.data.text === "string" ? { text: event.data.text } : {});
      case "synthesize":
        if (this.stream) return this.log.debug("wyoming: synthesize while streaming (the compatibility copy), ignored");
        return this.synthesize(event.data);
      case "synthesize-start":
        return this.startStream(event.data);
      case "synthesize-chunk": {
        if (!this.stream) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "synthesize-chunk without synthesize-start", { field: "type" });
        return this.stream.add(readText(event.data));
      }
      case "synthesize-stop": {
        // Always answered with synthesize-stopped, which a streaming client waits for.
        const stream = this.stream;
        if (stream) await stream.finish();
        else await this.report(new ChorusError("CHORUS_ERR_REQUEST_INVALID", "synthesize-stop without synthesize-start", { field: "type" }));
        if (this.gone.signal.aborted) return;
        this.stream = undefined;
        this.deps.metrics.requests.inc({ kind: "stream", result: !stream || stream.hasFailed ? "error" : "ok" });
        return this.send("synthesize-stopped");
      }
      default:
        // Events for other services (audio from a client, transcripts, ...): not for a TTS server.
        this.log.debug({ type: event.type }, "wyoming: event ignored");
    }
  }

  /**
   * One audio group for the whole text. Every synthesize is answered by exactly one
   * `audio-stop`, also after an `error`: Home Assistant ignores error events and waits for the
   * stop (it would otherwise wait forever on a connection that stays open).
   */
  private async synthesize(data: Record<string, unknown>): Promise<void> {
    try {
      const text = readText(data);
      const target = resolveVoice(readVoice(data), this.deps.registry, this.deps.voices);
      if (target.ignoredSpeaker)
        this.log.info({ engine: target.engine, speaker: target.ignoredSpeaker }, "wyoming: the engine has no speakers; speaker ignored");
      // Wyoming's names are the request's (text; voice.name is resolved above); raw PCM, streamed.
      const request = validateSpeech(
        { text, engine: target.engine, voice: target.voice, options: target.options, format: "pcm", stream: true },
        { maxLength: this.deps.maxTextLength },
      );
      const speech = await this.deps.pipeline.start(request, this.gone.signal);
      const rate = this.deps.config.sampleRate ?? speech.sampleRate;
      await this.send("audio-start", audioStart(rate));
      const sent = await sendChunks(this.send, speech, rate, this.deps.config.samplesPerChunk);
      await this.send("audio-stop", { timestamp: Math.round((sent.samples * 1000) / rate) });
      this.log.info(
        { engine: speech.engineId, voice: speech.voice, chars: text.length, seconds: +(sent.samples / rate).toFixed(2), rate },
        "wyoming synthesize",
      );
      this.deps.metrics.requests.inc({ kind: "synthesize", result: "ok" });
    } catch (err) {
      this.deps.metrics.requests.inc({ kind: "synthesize", result: this.gone.signal.aborted ? "cancelled" : "error" });
      if (this.gone.signal.aborted) return;
      await this.report(err);
      await this.send("audio-stop", {}).catch(() => {});
    }
  }

  private startStream(data: Record<string, unknown>): void {
    if (this.stream)
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "synthesize-start while a streaming synthesis is running (send synthesize-stop first)", {
        field: "type",
      });
    let target;
    try {
      target = resolveVoice(readVoice(data), this.deps.registry, this.deps.voices);
    } catch (err) {
      // Streamed text still arrives and synthesize-stop still gets synthesize-stopped.
      target = undefined;
      void this.report(err);
    }
    this.stream = new SynthesisStream(target ?? { engine: "", voice: undefined, options: undefined }, {
      pipeline: this.deps.pipeline,
      send: this.send,
      report: (err) => this.report(err),
      signal: this.gone.signal,
      log: this.log,
      samplesPerChunk: this.deps.config.samplesPerChunk,
      sampleRate: this.deps.config.sampleRate,
      maxTextLength: this.deps.maxTextLength,
    });
    if (!target) this.stream.discard();
  }

  /** Writes one event; waits while the socket's buffer is full. Throws once the client is gone. */
  private readonly send = async (type: string, data: Record<string, unknown> = {}, payload?: Uint8Array): Promise<void> => {
    if (this.gone.signal.aborted || this.socket.destroyed || !this.socket.writable) throw new SynthesisAbortedError("the Wyoming client went away");
    if (this.socket.write(encodeEvent(type, data, payload))) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.socket.off("drain", done);
        this.gone.signal.removeEventListener("abort", done);
        if (this.gone.signal.aborted) reject(new SynthesisAbortedError("the Wyoming client went away"));
        else resolve();
      };
      this.socket.on("drain", done);
      this.gone.signal.addEventListener("abort", done);
    });
  };

  /** An `error` event for a request that failed; nothing when the client is gone. */
  private async report(error: unknown): Promise<void> {
    if (this.gone.signal.aborted) return;
    const err = toChorusError(error);
    if (err.statusCode >= 500) this.log.warn({ err: error, code: err.code }, "wyoming request failed");
    else this.log.info({ code: err.code, message: err.message }, "wyoming request refused");
    await this.send("error", { text: err.message, code: err.code }).catch(() => {});
  }

  /** A frame that cannot be read: say so, and close this connection (the rest of the stream cannot be trusted). */
  private protocolError(err: FrameError): void {
    this.broken = true;
    this.deps.metrics.protocolErrors.inc({ code: err.code });
    this.log.warn({ code: err.code, message: err.message }, "wyoming protocol error; closing the connection");
    this.gone.abort(new SynthesisAbortedError(`protocol error: ${err.message}`));
    const { socket } = this;
    if (socket.writable)
      socket.end(encodeEvent("error", { text: `protocol error: ${err.message}; closing the connection`, code: err.code }), () => socket.destroy());
    else socket.destroy();
  }
}
