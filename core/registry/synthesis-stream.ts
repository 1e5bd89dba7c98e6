/**
 * One synthesis call as the host sees it: chunks arriving from the engine are queued and
 * handed out as an async iterable. Flow control (docs/protocol.md, "Credits"): the request
 * grants `INITIAL_CREDITS` chunks, and each chunk the consumer takes grants one more (sent
 * back in batches of half the window, or at once when the queue runs dry), so the queue never
 * holds more than the window, however fast the engine is. An engine that sends
 * beyond its credit breaks the protocol and the stream fails. The stream also fails when
 * the engine fails, or when the caller's signal aborts. When no chunk (nor the end) arrives
 * for `timeoutSeconds` while the consumer waits, the stream stalls: `onTimeout` lets the
 * host find out whether the worker still answers. A hung worker is killed, and its death
 * fails the stream as a lost worker (which the pipeline resumes); a worker that answers ends
 * the stalled call with `expire()`, a plain timeout.
 */
import type { AudioChunk } from "../../packages/sdk/src/index.ts";
import { EngineError, SynthesisAbortedError } from "../../packages/sdk/src/index.ts";
import { INITIAL_CREDITS, MAX_CHUNK_BYTES } from "./protocol.ts";

/** Bytes queued by all synthesis streams of this process (for the bound's test and metrics). */
let queuedBytes = 0;
export function synthesisQueuedBytes(): number {
  return queuedBytes;
}

export interface SynthesisStreamOptions {
  timeoutSeconds: number;
  onTimeout(): void;
  /** Sends `credit` for this request. */
  grant(n: number): void;
  /** The engine broke the protocol (sent beyond credit, or an oversized chunk). */
  onViolation(reason: string): void;
  credits?: number;
}

export class SynthesisStream {
  readonly credits: number;
  private readonly queue: AudioChunk[] = [];
  private queued = 0;
  /** Chunks the engine may still send. */
  private outstanding: number;
  /** Chunks taken by the consumer whose credit has not been sent back yet (sent in batches). */
  private ungranted = 0;
  private done = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** No audio came within the timeout; cleared by the next chunk. */
  private stalled = false;

  constructor(private readonly options: SynthesisStreamOptions) {
    this.credits = options.credits ?? INITIAL_CREDITS;
    this.outstanding = this.credits;
    this.arm();
  }

  resolve(): void {
    this.done = true;
    this.settle();
  }

  reject(err: Error): void {
    this.failure ??= err;
    this.settle();
  }

  onChunk(chunk: AudioChunk): void {
    if (this.done || this.failure) return;
    const bytes = chunk.samples.byteLength;
    if (this.outstanding <= 0 || bytes > MAX_CHUNK_BYTES) {
      const reason = bytes > MAX_CHUNK_BYTES ? `chunk of ${bytes} bytes exceeds ${MAX_CHUNK_BYTES}` : "chunk sent without credit";
      this.reject(new EngineError("ENGINE_FAILED", `engine broke the protocol: ${reason}`));
      this.options.onViolation(reason);
      return;
    }
    this.outstanding--;
    this.stalled = false;
    this.queue.push(chunk);
    this.queued += bytes;
    queuedBytes += bytes;
    this.arm();
    this.notify();
  }

  /**
   * Yields chunks until the end. `cancel` tells the engine to stop: called on abort and when
   * the consumer stops early (e.g. the client went away).
   */
  async *iterate(signal: AbortSignal, cancel: () => void): AsyncGenerator<AudioChunk> {
    const onAbort = () => {
      cancel();
      this.reject(new SynthesisAbortedError());
      this.discard(); // aborted: what was not read yet is not delivered
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        if (this.queue.length) {
          const chunk = this.queue.shift()!;
          this.release(chunk.samples.byteLength);
          if (!this.done && !this.failure) {
            // Credit goes back in batches (half the window), and at once when the queue runs
            // dry: the engine is never left without credit while the consumer waits, and a
            // burst of chunks costs one `credit` message (and one wake-up of the engine's
            // thread) instead of one per chunk.
            this.ungranted++;
            if (this.ungranted >= Math.max(1, Math.floor(this.credits / 2)) || !this.queue.length) this.flushCredit();
          }
          yield chunk;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.done) return;
        this.ensureArmed();
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (!this.done && !this.failure) cancel();
      if (!this.done) this.failure ??= new SynthesisAbortedError("synthesis closed by its reader");
      this.discard();
      this.settle();
    }
  }

  /**
   * Ends a stalled call with the timeout error (the worker answers, the call does not).
   * False when it is no longer stalled: audio came meanwhile, or the call ended.
   */
  expire(): boolean {
    if (!this.stalled || this.done || this.failure) return false;
    this.reject(
      new EngineError("ENGINE_FAILED", `synthesis timed out: no audio for ${this.options.timeoutSeconds} s (the engine's worker answers, the call does not)`),
    );
    return true;
  }

  private flushCredit(): void {
    if (!this.ungranted) return;
    this.outstanding += this.ungranted;
    this.options.grant(this.ungranted);
    this.ungranted = 0;
    this.ensureArmed();
  }

  private discard(): void {
    for (const c of this.queue.splice(0)) this.release(c.samples.byteLength);
  }

  private release(bytes: number): void {
    this.queued -= bytes;
    queuedBytes -= bytes;
  }

  /** The no-audio timer runs while the consumer waits for the engine, not while the engine waits for credit. */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.done || this.failure || this.outstanding <= 0) return;
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.options.onTimeout();
    }, this.options.timeoutSeconds * 1000);
  }

  private ensureArmed(): void {
    if (!this.timer) this.arm();
  }

  private settle(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.notify();
  }

  private notify(): void {
    this.wake?.();
    this.wake = undefined;
  }
}
