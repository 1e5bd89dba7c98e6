/**
 * Read-ahead between an engine and a client: the source (the engine's synthesis, which holds
 * a scheduler lease) is run to its end as fast as it produces, and what the reader has not
 * taken yet is kept. So a slow or paused reader (a throttled HTTP client, a paused browser
 * <audio>) never holds the engine: the lease ends when synthesis ends, not when sending ends.
 * Memory is bounded by the text limit (minutes of 16-bit audio at most).
 * The reader's `return()` calls `stop` (which aborts the synthesis) and waits for the source
 * to finish, so the lease is back before it resolves.
 */
export function readAhead<T>(source: AsyncGenerator<T>, stop: () => void): AsyncGenerator<T> {
  const queue: T[] = [];
  let head = 0;
  let finished = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const pump = (async () => {
    try {
      for await (const item of source) {
        queue.push(item);
        signal();
      }
    } catch (error) {
      failure = { error };
    } finally {
      finished = true;
      signal();
    }
  })();

  async function* read(): AsyncGenerator<T> {
    for (;;) {
      if (head < queue.length) {
        const item = queue[head]!;
        queue[head++] = undefined as T; // let the reader's chunks be collected
        yield item;
        continue;
      }
      if (failure) throw failure.error;
      if (finished) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }

  const reader = read();
  const readerReturn = reader.return.bind(reader);
  const close = async () => {
    if (!finished) stop();
    await pump;
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
