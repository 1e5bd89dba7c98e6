/**
 * Audio for the fine-tuning tools: decoded by the ffmpeg the project ships (any format, rate and
 * channel count; mixed to mono and resampled as the trainer does), measured in a worker thread.
 */
import { spawn } from "node:child_process";
import { Worker } from "node:worker_threads";
import { ffmpegPath } from "../../audio/encoders/index.ts";

export interface Decoded {
  samples: Int16Array;
  sampleRate: number;
  /** The file's own rate and channels, as ffmpeg reports them. */
  sourceRate: number | undefined;
  sourceChannels: number | undefined;
}

export interface AudioStats {
  seconds: number;
  rmsDb: number;
  peakDb: number;
  dcOffset: number;
  clippedFraction: number;
  speechSeconds: number;
  leadingSilence: number;
  trailingSilence: number;
  longestPause: number;
  /** Pauses of 0.15 s or more between the first and the last speech, seconds. */
  pauses: { start: number; end: number }[];
  /** SHA-1 of the decoded PCM (exact duplicates). */
  hash: string;
}

export class DecodeError extends Error {}

function channelsOf(layout: string): number | undefined {
  if (/mono/.test(layout)) return 1;
  if (/stereo/.test(layout)) return 2;
  const m = /(\d+)(?:\.(\d+))? channels?/.exec(layout) ?? /^(\d+)\.(\d+)/.exec(layout);
  return m ? Number(m[1]) + Number(m[2] ?? 0) : undefined;
}

/**
 * Decodes `file` to 16-bit mono PCM at `rate` through ffmpeg (a child process: off the event
 * loop). Refuses more than `maxSeconds` of audio (bounded memory).
 */
export function decodeAudio(file: string, rate = 22050, maxSeconds = 600, signal?: AbortSignal): Promise<Decoded> {
  return new Promise((resolve, reject) => {
    const args = ["-hide_banner", "-nostdin", "-i", file, "-map", "0:a:0", "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", String(rate), "pipe:1"];
    const child = spawn(ffmpegPath(), args, { stdio: ["ignore", "pipe", "pipe"], signal });
    const limit = maxSeconds * rate * 2;
    const parts: Buffer[] = [];
    let size = 0;
    let stderr = "";
    let tooLong = false;
    child.stdout.on("data", (b: Buffer) => {
      size += b.length;
      if (size > limit) {
        tooLong = true;
        child.kill("SIGKILL");
      } else parts.push(b);
    });
    child.stderr.on("data", (b: Buffer) => {
      if (stderr.length < 20000) stderr += b.toString();
    });
    child.on("error", (err) => reject(new DecodeError(`cannot run ffmpeg (${ffmpegPath()}): ${err.message}`)));
    child.on("close", (code) => {
      if (tooLong) return reject(new DecodeError(`longer than ${maxSeconds} s`));
      if (code !== 0) {
        const line =
          stderr
            .trim()
            .split("\n")
            .filter((l) => !/^\s*(built with|configuration:|lib\w+ )/.test(l))
            .pop() ?? "no message";
        return reject(new DecodeError(`ffmpeg cannot decode it: ${line.trim()}`));
      }
      const input = stderr.slice(0, stderr.indexOf("Output #0") >= 0 ? stderr.indexOf("Output #0") : undefined);
      const stream = /Stream #\d+:\d+.*?Audio: [^,]+, (\d+) Hz, ([^,]+)/.exec(input);
      const buf = Buffer.concat(parts);
      const samples = new Int16Array(buf.buffer, buf.byteOffset, Math.floor(buf.length / 2));
      resolve({
        samples: new Int16Array(samples),
        sampleRate: rate,
        sourceRate: stream ? Number(stream[1]) : undefined,
        sourceChannels: stream ? channelsOf(stream[2]!) : undefined,
      });
    });
  });
}

/** One worker thread computing AudioStats for a stream of clips; `close()` ends it. */
export class AudioAnalyser {
  private worker: Worker | undefined;
  private next = 0;
  private readonly pending = new Map<number, { resolve: (s: AudioStats) => void; reject: (e: Error) => void }>();

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL("./analyse.worker.mjs", import.meta.url));
    worker.on("message", (m: { id: number; stats?: AudioStats; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.stats) p?.resolve(m.stats);
      else p?.reject(new Error(m.error ?? "analysis failed"));
    });
    worker.on("error", (err) => this.failAll(err));
    worker.on("exit", () => {
      this.worker = undefined;
      this.failAll(new Error("audio analysis worker exited"));
    });
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  analyse(samples: Int16Array, sampleRate: number): Promise<AudioStats> {
    const worker = this.start();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const copy = new Int16Array(samples);
      worker.postMessage({ id, samples: copy, sampleRate }, [copy.buffer]);
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}

/** Runs `fn` over `items` with at most `limit` at once, results in order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let i = 0;
  const run = async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k]!, k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}
