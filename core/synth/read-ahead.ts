/**
 * Read-ahead between an engine and a client: the source (the engine's synthesis, which holds
 * a scheduler lease) runs ahead of the reader, and what the reader has not taken yet is kept.
 * So a slow or paused reader (a throttled HTTP client, a paused browser <audio>) does not hold
 * the engine: the lease ends when synthesis ends, not when sending ends.
 * What is kept is bounded: per stream (`streamBytes`) and over all streams (`totalBytes`).
 * Past either bound the source waits for the reader, as it would without read-ahead, so a
 * crowd of stalled clients cannot exhaust memory.
 * Below the read-ahead, the engine protocol's credit window bounds what arrives from the engine
 * (docs/protocol.md): per request the host holds at most `streamHoldBound()`.
 * The reader's `return()` calls `stop` (which aborts the synthesis) and waits for the source
 * to finish, so the lease is back before it resolves.
 */

import { INITIAL_CREDITS, MAX_CHUNK_BYTES } from "../registry/protocol.ts";

export interface ReadAheadLimits {
  streamBytes: number;
  totalBytes: number;
}

export const DEFAULT_READ_AHEAD: ReadAheadLimits = { streamBytes: 8 * 1024 * 1024, totalBytes: 256 * 1024 * 1024 };

/**
 * Most bytes the host holds for one stream whose reader stopped: the read-ahead (which may
 * pass its bound by one chunk), plus the credit window of the engine protocol.
 */
export function streamHoldBound(limits: ReadAheadLimits = DEFAULT_READ_AHEAD): number {
  return limits.streamBytes + (INITIAL_CREDITS + 1) * MAX_CHUNK_BYTES;
}

/** Bytes kept by all read-aheads of this process, and the sources waiting for room. */
const shared = { bytes: 0, waiting: new Set<() => void>() };

/** Bytes kept now by all read-aheads (for tests and metrics). */
export function readAheadBytes(): number {
  return shared.bytes;
}

function freed(): void {
  const waiting = [...shared.waiting];
  shared.waiting.clear();
  for (const wake of waiting) wake();
}

export function readAhead<T>(
  source: AsyncGenerator<T>,
  stop: () => void,
  sizeOf: (item: T) => number,
  limits: ReadAheadLimits = DEFAULT_READ_AHEAD,
): AsyncGenerator<T> {
  const queue: { item: T; bytes: number }[] = [];
  let head = 0;
  let kept = 0;
  let finished = false;
  let stopped = false;
  let failure: { error: unknown } | undefined;
  let wakeReader: (() => void) | undefined;
  const readerWake = () => {
    const w = wakeReader;
    wakeReader = undefined;
    w?.();
  };
  const full = () => head < queue.length && (kept >= limits.streamBytes || shared.bytes >= limits.totalBytes);

  const pump = (async () => {
    try {
      for (;;) {
        while (!stopped && full()) await new Promise<void>((resolve) => shared.waiting.add(resolve));
        if (stopped) {
          await source.return(undefined);
          break;
        }
        const next = await source.next();
        if (next.done) break;
        const bytes = sizeOf(next.value);
        queue.push({ item: next.value, bytes });
        kept += bytes;
        shared.bytes += bytes;
        readerWake();
      }
    } catch (error) {
      failure = { error };
    } finally {
      finished = true;
      readerWake();
    }
  })();

  async function* read(): AsyncGenerator<T> {
    for (;;) {
      if (head < queue.length) {
        const { item, bytes } = queue[head]!;
        queue[head++] = undefined as never; // let the reader's chunks be collected
        kept -= bytes;
        shared.bytes -= bytes;
        freed();
        yield item;
        continue;
      }
      if (failure) throw failure.error;
      if (finished) return;
      await new Promise<void>((resolve) => (wakeReader = resolve));
    }
  }

  const reader = read();
  const readerReturn = reader.return.bind(reader);
  const close = async () => {
    stopped = true;
    if (!finished) stop();
    freed(); // a source waiting for room sees `stopped`
    await pump;
    // What was never read no longer counts.
    shared.bytes -= kept;
    kept = 0;
    queue.length = 0;
    freed();
  };
  return Object.assign(reader, {
    // A generator's own return() skips its body when it has not started: always close here.
    return: async (value?: unknown) => {
      await close();
      await readerReturn(undefined);
      return { done: true as const, value: value as T };
    },
  });
}
