/**
 * The output stage: the one place where a speech's PCM becomes what a client receives. Every
 * surface hands it the pipeline's chunks (each at its engine's rate) and a spec (format,
 * rate): the chunks are resampled once, to the response's rate (resample.ts), then
 * - streamed: WAV with "unknown" sizes, raw PCM, or the encoders' bytes as they come
 *   (mp3/opus on the WASM pool, aac/flac through ffmpeg: audio/encoders);
 * - whole: the complete file, its header with the total length (WAV sizes, FLAC STREAMINFO);
 * - or as PCM at the rate (Wyoming frames it itself; AllTalk joins narrated parts).
 * Used by the native, OpenAI, AllTalk and xtts-api routes, Wyoming and `chorus say`.
 */
import type { AudioChunk } from "../../../packages/sdk/src/index.ts";
import { encodeCompressed, type EncodeOptions } from "../encoders/index.ts";
import { fixFlacStreamInfo } from "../lengths.ts";
import { contentType, type AudioFormat } from "./formats.ts";
import { atRate, type Resampler } from "./resample.ts";
import { pcmBytes, wavHeader, wavParts } from "./wav.ts";

export { AUDIO_FORMATS, contentType, type AudioFormat } from "./formats.ts";
export { pcmBytes, wavFile, wavParts, WAV_UNKNOWN_SIZE } from "./wav.ts";

/** What the output stage takes: a pipeline's SpeechStream fits. */
export interface SpeechAudio {
  /** The rate of the first chunk (the response's, unless the spec names another). */
  sampleRate: number;
  /** Closing them closes the synthesis (and gives its lease back); an array's iterator for audio already made. */
  chunks: AsyncIterator<AudioChunk> | Iterator<AudioChunk>;
}

export interface OutputSpec extends EncodeOptions {
  format: AudioFormat;
  /** The response's rate; default the speech's (its first chunk's). */
  sampleRate?: number;
  /** The resampling step (a seam for tests; default linear interpolation). */
  resample?: Resampler;
}

export interface AudioOut<B> {
  /** The rate of the audio in `body` (what X-Sample-Rate says). */
  sampleRate: number;
  contentType: string;
  body: B;
}

/** The speech's PCM at `rate` (default its own), each chunk resampled once. */
export function pcmAt(speech: SpeechAudio, rate = speech.sampleRate, resample?: Resampler): AsyncIterableIterator<Int16Array> {
  return atRate(speech.chunks, rate, resample);
}

/**
 * Bytes as they are made. Closing the body, even before its first read, closes the speech
 * (an async generator closed before it starts would not).
 */
export function streamAudio(speech: SpeechAudio, spec: OutputSpec): AudioOut<AsyncIterableIterator<Buffer>> {
  const rate = spec.sampleRate ?? speech.sampleRate;
  const pcm = pcmAt(speech, rate, spec.resample);
  const body =
    spec.format === "wav" || spec.format === "pcm"
      ? rawBytes(pcm, spec.format === "wav" ? wavHeader(rate) : undefined)
      : closing(encodeCompressed(spec.format, rate, pcm, spec, true), pcm);
  return { sampleRate: rate, contentType: contentType(spec.format, rate), body };
}

/** The complete file at once, its header carrying the total length (wav, flac). */
export async function wholeAudio(speech: SpeechAudio, spec: OutputSpec): Promise<AudioOut<Buffer> & { samples: number }> {
  const out = await wholeAudioParts(speech, spec);
  return { ...out, body: out.body.length === 1 ? out.body[0]! : Buffer.concat(out.body, out.bytes) };
}

/**
 * The complete file as its parts in order, not joined (wav and pcm: the header and views of
 * the engine's chunks, no copy), for a writer that sends them one after the other (a socket's
 * writev: core/server/whole-body.ts); `bytes` is their total length.
 */
export async function wholeAudioParts(speech: SpeechAudio, spec: OutputSpec): Promise<AudioOut<Buffer[]> & { samples: number; bytes: number }> {
  const rate = spec.sampleRate ?? speech.sampleRate;
  const pcm = pcmAt(speech, rate, spec.resample);
  // Kept only where the file is made of them (wav, pcm) or its header sums them (flac's MD5).
  const keep = spec.format === "wav" || spec.format === "pcm" || spec.format === "flac";
  const chunks: Int16Array[] = [];
  let samples = 0;
  const tap = (async function* () {
    for await (const c of pcm) {
      if (keep) chunks.push(c);
      samples += c.length;
      yield c;
    }
  })();
  let body: Buffer[];
  if (spec.format === "wav" || spec.format === "pcm") {
    for await (const _ of tap) void _;
    body = spec.format === "wav" ? wavParts(rate, chunks) : chunks.map(pcmBytes);
  } else {
    const out: Buffer[] = [];
    for await (const bytes of encodeCompressed(spec.format, rate, tap, spec)) out.push(bytes);
    // Encoded through a pipe, so STREAMINFO left the total length and MD5 out: written here.
    body = spec.format === "flac" ? [fixFlacStreamInfo(Buffer.concat(out), samples, chunks.map(pcmBytes))] : out;
  }
  return { sampleRate: rate, contentType: contentType(spec.format, rate), body, samples, bytes: body.reduce((n, b) => n + b.length, 0) };
}

/** Header (if any), then each chunk's bytes; closing it closes `pcm`. */
function rawBytes(pcm: AsyncIterableIterator<Int16Array>, header: Buffer | undefined): AsyncIterableIterator<Buffer> {
  let pending = header;
  const iterator: AsyncIterableIterator<Buffer> = {
    next: async () => {
      if (pending) {
        const value = pending;
        pending = undefined;
        return { done: false, value };
      }
      const item = await pcm.next();
      return item.done ? { done: true, value: undefined } : { done: false, value: pcmBytes(item.value) };
    },
    return: async () => {
      pending = undefined;
      await pcm.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** `encoded`, whose return() also closes `source` (an encoder closed before it started never reads it). */
function closing(encoded: AsyncGenerator<Buffer>, source: AsyncIterableIterator<Int16Array>): AsyncIterableIterator<Buffer> {
  const iterator: AsyncIterableIterator<Buffer> = {
    next: () => encoded.next(),
    return: async () => {
      await encoded.return(undefined);
      await source.return?.();
      return { done: true, value: undefined };
    },
    throw: async (error?: unknown) => {
      await encoded.return(undefined);
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
