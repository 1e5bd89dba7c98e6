/**
 * A response stream whose first item has already been made. Routes await it before they set
 * audio headers and hand the stream to fastify, so a failure before the first byte (the
 * encoder cannot start, the engine fails at once) is still an ordinary error response with its
 * status and JSON body; a failure after it can only cut the response short.
 */
export async function primed<T>(source: AsyncIterator<T>): Promise<AsyncIterableIterator<T>> {
  const first = await source.next();
  let pending: IteratorResult<T> | undefined = first.done ? undefined : first;
  const iterator: AsyncIterableIterator<T> = {
    next: async () => {
      if (!pending) return source.next();
      const item = pending;
      pending = undefined;
      return item;
    },
    // Closing before the first read must still close the source (and what it holds).
    return: async (value?: unknown) => {
      pending = undefined;
      return source.return ? source.return(value as T) : { done: true, value: value as T };
    },
    throw: async (error?: unknown) => {
      if (source.throw) return source.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
