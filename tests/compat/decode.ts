/** Test helpers: decode any container/codec with the shipped ffmpeg, and make test tones. */
import { spawn } from "node:child_process";
import { ffmpegPath } from "../../core/audio/encoders/index.ts";

const STREAMED_WAV_NOTES = /Ignoring maximum wav data size|corrupt input packet/;

export interface Decoded {
  /** What ffmpeg reports for the input stream, e.g. "Audio: mp3, 22050 Hz, mono". */
  streamInfo: string;
  sampleRate: number;
  samples: Int16Array;
  durationSeconds: number;
}

/**
 * Decodes `bytes` (any format ffmpeg reads; `inputFormat` forces one, e.g. s16le for raw pcm)
 * to mono s16le at `outRate`. Rejects when ffmpeg fails or reports any error, invalid or corrupt data.
 */
export function decodeAudio(bytes: Buffer, outRate = 22050, inputFormat?: string[]): Promise<Decoded> {
  const args = ["-hide_banner", "-nostdin", "-v", "info", ...(inputFormat ?? []), "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", String(outRate), "pipe:1"];
  // A progressively written WAV declares "unknown" sizes (0xFFFFFFFF); ffmpeg notes that, and
  // that the last packet is shorter than the declared data. Nothing else may be reported.
  const streamedWav = bytes.toString("ascii", 0, 4) === "RIFF" && bytes.readUInt32LE(4) === 0xffffffff;
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath(), args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdin.on("error", () => undefined);
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`ffmpeg could not decode (${code}): ${err.slice(-800)}`));
      const pcm = Buffer.concat(out);
      const samples = new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + (pcm.length & ~1)));
      const streamInfo = /Stream #0:0[^\n]*Audio: [^\n]*/.exec(err)?.[0] ?? "";
      const complaints = err.split("\n").filter((line) => /error|invalid|corrupt/i.test(line) && !(streamedWav && STREAMED_WAV_NOTES.test(line)));
      if (complaints.length) return reject(new Error(`decoder complained: ${complaints.join("; ")}`));
      resolve({ streamInfo, sampleRate: outRate, samples, durationSeconds: samples.length / outRate });
    });
    child.stdin.end(bytes);
  });
}

/** A sine tone, split into chunks of `chunkSeconds`. */
export function tone(seconds: number, rate = 22050, freq = 440, chunkSeconds = 0.25): Int16Array[] {
  const total = Math.round(seconds * rate);
  const per = Math.round(chunkSeconds * rate);
  const chunks: Int16Array[] = [];
  for (let start = 0; start < total; start += per) {
    const n = Math.min(per, total - start);
    const c = new Int16Array(n);
    for (let i = 0; i < n; i++) c[i] = Math.round(12000 * Math.sin((2 * Math.PI * freq * (start + i)) / rate));
    chunks.push(c);
  }
  return chunks;
}

export async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

/** Dominant frequency estimate by zero crossings (good enough for a clean tone). */
export function zeroCrossingHz(samples: Int16Array, rate: number): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
  return crossings / 2 / (samples.length / rate);
}

export function rmsOf(samples: Int16Array): number {
  let acc = 0;
  for (const s of samples) acc += s * s;
  return samples.length ? Math.sqrt(acc / samples.length) : 0;
}

/** PCM at one rate as the output stage takes it (a pipeline's chunks): closing it closes `pcm`. */
export function asSpeech(
  pcm: AsyncIterable<Int16Array>,
  sampleRate: number,
): { sampleRate: number; chunks: AsyncGenerator<{ samples: Int16Array; sampleRate: number }> } {
  return {
    sampleRate,
    chunks: (async function* () {
      for await (const samples of pcm) yield { samples, sampleRate };
    })(),
  };
}
