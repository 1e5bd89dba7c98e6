/**
 * Streaming audio encoders for every format the compatibility APIs offer. Each takes 16-bit
 * mono PCM chunks (an AsyncIterable, e.g. a pipeline's `chunks`) and yields encoded bytes as
 * soon as they are available, so a response can be streamed while synthesis goes on.
 *
 * wav and pcm are written here; mp3 (LAME as WebAssembly) and opus (libopus in Ogg) are
 * encoded in-process on a reused pool of worker threads (pool.ts); aac (ADTS) and flac, which
 * have no well-kept library, go through the ffmpeg binary shipped in `@ffmpeg-installer/ffmpeg`
 * (ffmpeg.ts). `CHORUS_ENCODER=ffmpeg` sends mp3 and opus through ffmpeg too.
 */
import { pcmBytes, wavHeader } from "../wav.ts";
import { ffmpegEncode } from "./ffmpeg.ts";
import { pooledEncode } from "./pool.ts";
import { fixFlacStreamInfo } from "../lengths.ts";

export { EncoderError, ffmpegPath } from "./ffmpeg.ts";
export { closeEncoderPool, poolStats } from "./pool.ts";

export const AUDIO_FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"] as const;
export type AudioFormat = (typeof AUDIO_FORMATS)[number];

export function isAudioFormat(value: unknown): value is AudioFormat {
  return typeof value === "string" && (AUDIO_FORMATS as readonly string[]).includes(value);
}

/** The Content-Type for a format; pcm carries its rate (`audio/pcm;rate=22050`). */
export function contentType(format: AudioFormat, sampleRate: number): string {
  switch (format) {
    case "mp3":
      return "audio/mpeg";
    case "opus":
      return "audio/ogg";
    case "aac":
      return "audio/aac";
    case "flac":
      return "audio/flac";
    case "wav":
      return "audio/wav";
    case "pcm":
      return `audio/pcm;rate=${sampleRate}`;
  }
}

export interface EncodeOptions {
  /** Target bit rate for lossy formats, kbit/s (mono). Defaults: mp3 64, opus 32, aac 64. */
  bitrateKbps?: number;
}

/** Opus only takes these rates; the input is resampled to the smallest one not below it. */
const OPUS_RATES = [8000, 12000, 16000, 24000, 48000];

/** ffmpeg output arguments for the formats it encodes (everything after `-i pipe:0`). */
export function ffmpegArgs(format: Exclude<AudioFormat, "wav" | "pcm">, sampleRate: number, options: EncodeOptions = {}): string[] {
  const flush = ["-flush_packets", "1", "-map_metadata", "-1"];
  switch (format) {
    case "mp3":
      // No Xing/ID3 headers: the output is not seekable, so they could not be filled in.
      return ["-c:a", "libmp3lame", "-b:a", `${options.bitrateKbps ?? 64}k`, ...flush, "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3"];
    case "opus": {
      const rate = OPUS_RATES.find((r) => r >= sampleRate) ?? 48000;
      // Short Ogg pages (100 ms) so that the first audio leaves quickly.
      return ["-ar", String(rate), "-c:a", "libopus", "-b:a", `${options.bitrateKbps ?? 32}k`, ...flush, "-page_duration", "100000", "-f", "ogg"];
    }
    case "aac":
      return ["-c:a", "aac", "-b:a", `${options.bitrateKbps ?? 64}k`, ...flush, "-f", "adts"];
    case "flac":
      return ["-c:a", "flac", ...flush, "-f", "flac"];
  }
}

/** Encodes a PCM stream (mono s16 at `sampleRate`) into `format`, yielding bytes as they come. */
export function encodeStream(format: AudioFormat, sampleRate: number, pcm: AsyncIterable<Int16Array>, options: EncodeOptions = {}): AsyncGenerator<Buffer> {
  switch (format) {
    case "wav":
      return wavStream(sampleRate, pcm);
    case "pcm":
      return rawStream(pcm);
    case "mp3":
    case "opus":
      if (process.env.CHORUS_ENCODER !== "ffmpeg") return pooledEncode(format, sampleRate, pcm, options.bitrateKbps);
      return ffmpegEncode(sampleRate, ffmpegArgs(format, sampleRate, options), pcm);
    default:
      return ffmpegEncode(sampleRate, ffmpegArgs(format, sampleRate, options), pcm);
  }
}

/** The whole encoded file at once, its header carrying the total length (wav, flac). */
export async function encodeAll(format: AudioFormat, sampleRate: number, pcm: AsyncIterable<Int16Array>, options: EncodeOptions = {}): Promise<Buffer> {
  if (format === "wav") {
    // Not streamed, so the header can carry the exact sizes.
    const chunks: Buffer[] = [];
    for await (const samples of pcm) chunks.push(pcmBytes(samples));
    const size = chunks.reduce((n, c) => n + c.length, 0);
    return Buffer.concat([wavHeader(sampleRate, size), ...chunks]);
  }
  if (format === "flac") {
    // Encoded through a pipe, so STREAMINFO left the total length and MD5 out: written here.
    const input: Buffer[] = [];
    let samples = 0;
    async function* tap() {
      for await (const chunk of pcm) {
        input.push(Buffer.from(pcmBytes(chunk)));
        samples += chunk.length;
        yield chunk;
      }
    }
    const out: Buffer[] = [];
    for await (const bytes of encodeStream(format, sampleRate, tap(), options)) out.push(bytes);
    return fixFlacStreamInfo(Buffer.concat(out), samples, input);
  }
  const out: Buffer[] = [];
  for await (const bytes of encodeStream(format, sampleRate, pcm, options)) out.push(bytes);
  return Buffer.concat(out);
}

/** A progressively playable WAV: header with "unknown" sizes, then the samples as they come. */
async function* wavStream(sampleRate: number, pcm: AsyncIterable<Int16Array>): AsyncGenerator<Buffer> {
  yield wavHeader(sampleRate);
  yield* rawStream(pcm);
}

async function* rawStream(pcm: AsyncIterable<Int16Array>): AsyncGenerator<Buffer> {
  for await (const samples of pcm) yield pcmBytes(samples);
}
