/**
 * The request side of one engine instance: calls sent to its worker as messages, each with
 * a time limit; synthesis streams with credits and cancellation; and the probe that decides,
 * after a timeout, whether the worker is stuck (then it is killed, and the lifecycle in
 * engine-host.ts restarts it). The worker's link is read through `link()`, so a restarted
 * worker is used as soon as it serves.
 */
import type { Logger } from "pino";
import type { AudioChunk, SynthesisRequest } from "../../packages/sdk/src/index.ts";
import { EngineError, SynthesisAbortedError } from "../../packages/sdk/src/index.ts";
import { continuing, type EngineToHost, type HostToEngine } from "./protocol.ts";
import { PendingCalls, workerLost, type LossCause } from "./pending-calls.ts";
import { SynthesisStream } from "./synthesis-stream.ts";
import type { Link } from "./worker-link.ts";

export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type CallMessage = DistributiveOmit<HostToEngine, "id">;

export interface EngineCallsOptions {
  log: Logger;
  /** The worker that serves now (none while it is down). */
  link(): Link | undefined;
  /** Whether that worker's runtime takes `synthesize.more` (protocol 1.1+). */
  speaksMore?(): boolean;
  /** Resolves when the worker serves (after a restart: started and loaded again). */
  serving?(): Promise<void>;
  /** How long a worker may take to answer a ping before it counts as hung. */
  pingTimeoutMs?: number;
  /** The worker missed a ping and is being killed (`note`: why); its exit fails calls as a hang. */
  hung(note: string): void;
}

export class EngineCalls {
  private readonly pending = new PendingCalls();
  private nextId = 1;
  /** Set while a worker that timed out is being pinged: new calls wait for the verdict (true: it hung and was killed). */
  private probe?: Promise<boolean>;

  constructor(private readonly options: EngineCallsOptions) {}

  /** The ping in progress after a timeout, if any. */
  get probing(): Promise<boolean> | undefined {
    return this.probe;
  }

  /** Sends one call and waits for its answer, for at most `timeoutSeconds`. */
  send(message: CallMessage, timeoutSeconds: number): Promise<unknown> {
    if (!this.options.link()) return Promise.reject(workerLost(new EngineError("ENGINE_FAILED", "engine worker is not running")));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new EngineError("ENGINE_FAILED", `${message.type} timed out after ${timeoutSeconds} s`));
        this.options.log.warn({ reason: "call_timeout", call: message.type, seconds: timeoutSeconds }, "engine call timed out");
        void this.checkResponsive();
      }, timeoutSeconds * 1000);
      const done =
        <T>(fn: (v: T) => void) =>
        (v: T) => {
          clearTimeout(timer);
          fn(v);
        };
      this.pending.set(id, { resolve: done(resolve), reject: done(reject) });
      this.post({ ...message, id } as HostToEngine);
    });
  }

  /**
   * Streams one synthesis' chunks by credit; aborting `signal` cancels it inside the engine.
   * `more`: texts to speak after `request.text` with the same parameters: in the same request
   * (protocol 1.1, `synthesize.more`: no round trip between the texts), or, for a runtime that
   * speaks 1.0, as one request after the other.
   */
  async *synthesize(request: SynthesisRequest, signal: AbortSignal, chunkSeconds: number, more: readonly string[] = []): AsyncGenerator<AudioChunk> {
    if (more.length && !this.options.speaksMore?.()) {
      const texts = [request.text, ...more];
      for (const [index, text] of texts.entries()) {
        if (index > 0) {
          if (signal.aborted) throw new SynthesisAbortedError();
          await this.options.serving?.(); // a worker restarted between two texts serves again first
          if (!this.options.link()) throw workerLost(new EngineError("ENGINE_FAILED", "engine worker is not running"));
        }
        yield* this.synthesize(continuing(request, text, index < texts.length - 1), signal, chunkSeconds);
      }
      return;
    }
    const id = this.nextId++;
    const stream = new SynthesisStream({
      timeoutSeconds: chunkSeconds,
      onTimeout: () => {
        this.options.log.warn({ reason: "synthesis_timeout", seconds: chunkSeconds }, "synthesis produced no audio in time; checking that the worker answers");
        // A hung worker is killed: its exit fails this call as a lost worker (resumable). One
        // that answers keeps running; only this call ends, with the timeout.
        void this.checkResponsive().then((hung) => {
          if (hung || !stream.expire()) return;
          this.post({ type: "abort", id });
          this.pending.delete(id);
        });
      },
      grant: (n) => this.post({ type: "credit", id, n }),
      onViolation: (reason) => {
        this.pending.delete(id);
        this.options.log.error({ reason: "protocol_violation", detail: reason }, "engine broke the protocol; killing it");
        void this.options.link()?.kill();
      },
    });
    this.pending.set(id, stream);
    try {
      this.post({ type: "synthesize", id, request, credits: stream.credits, ...(more.length ? { more: [...more] } : {}) });
      yield* stream.iterate(signal, () => this.post({ type: "abort", id }));
    } finally {
      this.pending.delete(id);
    }
  }

  /** Routes an answer or chunk to its call; false for messages that are not answers. */
  route(message: EngineToHost): boolean {
    return this.pending.route(message);
  }

  /** Fails every call in flight (the worker is gone); `error` makes each call's error. */
  failAll(reason: string, error?: () => Error, cause?: LossCause): void {
    this.pending.failAll(reason, error, cause);
  }

  /**
   * After a timeout: a worker that cannot even answer a ping is stuck, and is replaced (its
   * calls fail as a hang). Resolves true when it was killed, false when it answered.
   */
  checkResponsive(): Promise<boolean> {
    const link = this.options.link();
    if (this.probe || !link) return this.probe ?? Promise.resolve(false);
    const pingMs = this.options.pingTimeoutMs ?? 2000;
    this.probe = (async () => {
      try {
        await this.send({ type: "ping" }, pingMs / 1000);
        return false;
      } catch {
        if (this.options.link() !== link) return false;
        this.options.log.error({ reason: "worker_unresponsive", pingMs }, "engine worker does not answer; killing it");
        this.options.hung(`no answer to a ping within ${pingMs} ms after a call timed out`);
        await link.kill();
        return true;
      }
    })().finally(() => (this.probe = undefined));
    return this.probe;
  }

  private post(message: HostToEngine): void {
    this.options.link()?.post(message);
  }
}
