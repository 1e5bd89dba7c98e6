/**
 * One synthesis call as the host sees it: chunks arriving from the worker are queued and
 * handed out as an async iterable. The stream fails when the engine fails, when the caller's
 * signal aborts, or when no chunk (nor the end) arrives for `timeoutSeconds`.
 */
import type { AudioChunk } from "../sdk/engine.ts";
import { AbortError, EngineError } from "../sdk/errors.ts";

export class SynthesisStream {
  private readonly queue: AudioChunk[] = [];
  private done = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutSeconds: number,
    private readonly onTimeout: () => void,
  ) {
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
    this.queue.push(chunk);
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
      this.reject(new AbortError());
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        if (this.queue.length) {
          yield this.queue.shift()!;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.done) return;
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (!this.done && !this.failure) cancel();
      this.settle();
    }
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.done || this.failure) return;
    this.timer = setTimeout(() => {
      this.reject(new EngineError("ENGINE_FAILED", `synthesis timed out: no audio for ${this.timeoutSeconds} s`));
      this.onTimeout();
    }, this.timeoutSeconds * 1000);
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
