/**
 * The compressed formats' encoders, internals of the output stage (audio/output): each takes
 * 16-bit mono PCM chunks at one rate and yields encoded bytes as soon as they are available.
 * mp3 (LAME as WebAssembly) and opus (libopus in Ogg) are encoded in-process on a reused pool
 * of worker threads (pool.ts); aac (ADTS) and flac, which have no well-kept library, go
 * through the ffmpeg binary shipped in `@ffmpeg-installer/ffmpeg` (ffmpeg.ts).
 * `CHORUS_ENCODER=ffmpeg` sends mp3 and opus through ffmpeg too.
 */
import { ffmpegEncode } from "./ffmpeg.ts";
import { pooledEncode, warmPool } from "./pool.ts";
import { startLauncherEarly } from "./spawner.ts";

export { EncoderError, ffmpegPath } from "./ffmpeg.ts";
export { closeEncoderPool, poolStats } from "./pool.ts";

/**
 * For a server that is starting (`chorus serve`): the pool's first thread loads LAME and
 * libopus, and the ffmpeg launcher starts while the process is still small, so the first
 * response of each format does not pay for it. Neither keeps the process alive.
 */
export function warmEncoders(): void {
  warmPool();
  startLauncherEarly();
}

export type CompressedFormat = "mp3" | "opus" | "aac" | "flac";

export interface EncodeOptions {
  /** Target bit rate for lossy formats, kbit/s (mono). Defaults: mp3 64, opus 32, aac 64. */
  bitrateKbps?: number;
}

/** Opus only takes these rates; the input is resampled to the smallest one not below it. */
const OPUS_RATES = [8000, 12000, 16000, 24000, 48000];

/** ffmpeg output arguments for the formats it encodes (everything after `-i pipe:0`). */
export function ffmpegArgs(format: CompressedFormat, sampleRate: number, options: EncodeOptions = {}): string[] {
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

/**
 * Encodes a PCM stream (mono s16 at `sampleRate`) into `format`, yielding bytes as they come.
 * `streamed`: the bytes go to a client as they come (a streamed response), so the first ones
 * are worth a round trip of their own (pool.ts); a whole file is not read before its end.
 */
export function encodeCompressed(
  format: CompressedFormat,
  sampleRate: number,
  pcm: AsyncIterable<Int16Array>,
  options: EncodeOptions = {},
  streamed = false,
): AsyncGenerator<Buffer> {
  if ((format === "mp3" || format === "opus") && process.env.CHORUS_ENCODER !== "ffmpeg")
    return pooledEncode(format, sampleRate, pcm, options.bitrateKbps, streamed);
  return ffmpegEncode(sampleRate, ffmpegArgs(format, sampleRate, options), pcm);
}
