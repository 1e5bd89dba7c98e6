/**
 * The output stage's one resampling step: every chunk of a response is brought to the
 * response's rate here and nowhere else (an engine's chunks carry their own rate; a fallback
 * engine mid-request may have another).
 */
import type { AudioChunk } from "../../../packages/sdk/src/index.ts";

/** Linear-interpolation resampling; returns `samples` itself when the rates agree. */
export function resampleLinear(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to || samples.length === 0) return samples;
  const length = Math.max(1, Math.round((samples.length * to) / from));
  const out = new Int16Array(length);
  const step = from / to;
  for (let i = 0; i < length; i++) {
    const pos = i * step;
    const left = Math.floor(pos);
    const right = Math.min(left + 1, samples.length - 1);
    const frac = pos - left;
    out[i] = Math.round(samples[Math.min(left, samples.length - 1)]! * (1 - frac) + samples[right]! * frac);
  }
  return out;
}

export type Resampler = (samples: Int16Array, from: number, to: number) => Int16Array;

/**
 * The chunks' PCM at `rate`, each chunk resampled once (by `resample`, a seam for tests).
 * Not an async generator: one closed before its first read would never close `chunks`
 * (the pipeline's stream, which holds the scheduler's lease).
 */
export function atRate(
  chunks: AsyncIterator<AudioChunk> | Iterator<AudioChunk>,
  rate: number,
  resample: Resampler = resampleLinear,
): AsyncIterableIterator<Int16Array> {
  const iterator: AsyncIterableIterator<Int16Array> = {
    next: async () => {
      const item = await chunks.next();
      return item.done ? { done: true, value: undefined } : { done: false, value: resample(item.value.samples, item.value.sampleRate, rate) };
    },
    return: async () => {
      await chunks.return?.();
      return { done: true, value: undefined };
    },
    throw: async (error?: unknown) => {
      await chunks.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
