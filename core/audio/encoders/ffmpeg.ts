/**
 * Streaming encoding through the static ffmpeg binary shipped in the npm package
 * `@ffmpeg-installer/ffmpeg` (its platform package carries the executable; no install script
 * or download needed). One child process per stream: s16le PCM in on stdin, the encoded
 * container out on stdout, flushed packet by packet so bytes leave as soon as they exist.
 * Starting ffmpeg takes tens of milliseconds, which came before a stream's first bytes (TTFA,
 * issue 15): so after each start one more process with the same command line is started and
 * left waiting on its stdin (a spare, `takeProcess`), for the next stream of that format;
 * unused, it is stopped after SPARE_IDLE_MS. `FFMPEG_SPARES=0` turns this off (named like
 * FFMPEG_PATH: a CHORUS_ variable would be read as a configuration key).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { accessSync, chmodSync, constants } from "node:fs";
import type { Writable } from "node:stream";
import { createRequire } from "node:module";
import { pcmBytes } from "../output/wav.ts";

let cachedPath: string | undefined;

/** Path of the ffmpeg executable: `FFMPEG_PATH` if set, else the one shipped in node_modules. */
export function ffmpegPath(): string {
  if (cachedPath) return cachedPath;
  const fromEnv = process.env.FFMPEG_PATH;
  if (fromEnv) return (cachedPath = fromEnv);
  const require = createRequire(import.meta.url);
  const found = (require("@ffmpeg-installer/ffmpeg") as { path: string }).path;
  return (cachedPath = ensureExecutable(found));
}

/**
 * Makes `file` executable when it is not. The platform package's postinstall (`chmod u+x
 * ffmpeg`) is denied in package.json's allowScripts (npm 12 blocks it anyway): the tarball's
 * mode is normally right already, and this covers the case where it is not.
 */
export function ensureExecutable(file: string): string {
  try {
    accessSync(file, constants.X_OK);
    return file;
  } catch {
    try {
      chmodSync(file, 0o755);
      accessSync(file, constants.X_OK);
      return file;
    } catch (err) {
      throw new EncoderError(`${file} is not executable and cannot be made so (${(err as Error).message}); run chmod +x on it or set FFMPEG_PATH`);
    }
  }
}

/** A spare ffmpeg is stopped when no stream took it for this long. */
export const SPARE_IDLE_MS = 30_000;
/** Spares kept at most (one per command line: format, rate, bit rate). */
const MAX_SPARES = 8;

interface Spare {
  child: ChildProcessWithoutNullStreams;
  timer: NodeJS.Timeout;
  failed: boolean;
}
const spares = new Map<string, Spare>();
let started = 0;

/** ffmpeg processes started so far, and those waiting as spares (tests). */
export function ffmpegStats(): { started: number; spares: number } {
  return { started, spares: spares.size };
}

function startFfmpeg(args: string[]): ChildProcessWithoutNullStreams {
  started++;
  return spawn(ffmpegPath(), args, { stdio: ["pipe", "pipe", "pipe"] });
}

const streamsOf = (child: ChildProcessWithoutNullStreams) => [child.stdin, child.stdout, child.stderr] as unknown as { ref(): void; unref(): void }[];

/**
 * An ffmpeg for `args`: the spare started for them if it is alive, else a new one; then a new
 * spare for the next stream. A spare does not keep the process alive (unref'd), and exits by
 * itself when its stdin closes (the host went away).
 */
export function takeProcess(args: string[]): ChildProcessWithoutNullStreams {
  const key = `${ffmpegPath()}\0${args.join("\0")}`;
  const spare = spares.get(key);
  spares.delete(key);
  let child: ChildProcessWithoutNullStreams | undefined;
  if (spare) {
    clearTimeout(spare.timer);
    if (!spare.failed && spare.child.exitCode === null && spare.child.signalCode === null) {
      child = spare.child;
      child.removeAllListeners("error");
      child.ref();
      for (const s of streamsOf(child)) s.ref();
    } else spare.child.kill("SIGKILL");
  }
  child ??= startFfmpeg(args);
  if (process.env.FFMPEG_SPARES !== "0") setImmediate(() => startSpare(key, args));
  return child;
}

function startSpare(key: string, args: string[]): void {
  if (spares.has(key)) return;
  if (spares.size >= MAX_SPARES) {
    const [oldest, old] = spares.entries().next().value as [string, Spare];
    spares.delete(oldest);
    clearTimeout(old.timer);
    old.child.kill("SIGKILL");
  }
  const child = startFfmpeg(args);
  const spare: Spare = {
    child,
    failed: false,
    timer: setTimeout(() => {
      if (spares.get(key) === spare) spares.delete(key);
      child.kill("SIGKILL");
    }, SPARE_IDLE_MS),
  };
  spare.timer.unref();
  child.on("error", () => (spare.failed = true)); // no ffmpeg there: the stream that takes it starts its own, and reports it
  child.stdin.on("error", () => {});
  child.unref();
  for (const s of streamsOf(child)) s.unref();
  spares.set(key, spare);
}

export class EncoderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EncoderError";
  }
}

/**
 * Pipes PCM through `ffmpeg <inputArgs> -i pipe:0 <outputArgs> pipe:1` and yields stdout as
 * it arrives (no input probing, so the first bytes follow the first chunk). Input is written with back-pressure. If the consumer stops early, or the input
 * fails, the process is killed and the input iterator is closed.
 */
export async function* ffmpegEncode(sampleRate: number, outputArgs: string[], pcm: AsyncIterable<Int16Array>): AsyncGenerator<Buffer> {
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    "-probesize",
    "32",
    "-analyzeduration",
    "0",
    "-f",
    "s16le",
    "-ar",
    String(sampleRate),
    "-ac",
    "1",
    "-i",
    "pipe:0",
    ...outputArgs,
    "pipe:1",
  ];
  const child = takeProcess(args);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  child.stdin.on("error", () => {
    /* EPIPE when ffmpeg exits early: reported through its exit status */
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal }));
  });
  let spawnError: Error | undefined;
  child.on("error", (err) => {
    spawnError = err;
  });

  const input = pcm[Symbol.asyncIterator]();
  let inputError: unknown;
  let inputDone = false;
  const feeding = (async () => {
    try {
      for (;;) {
        const next = await input.next();
        if (next.done) break;
        if (child.stdin.destroyed) return;
        if (!child.stdin.write(pcmBytes(next.value))) await drainedOrClosed(child.stdin);
      }
      inputDone = true;
      child.stdin.end();
    } catch (err) {
      inputError = err;
      child.kill("SIGKILL");
    }
  })();

  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    await feeding;
    if (inputError !== undefined) throw inputError;
    const { code, signal } = await closed;
    if (spawnError) throw new EncoderError(`cannot run ffmpeg (${ffmpegPath()}): ${spawnError.message}`, { cause: spawnError });
    if (code !== 0) throw new EncoderError(`ffmpeg failed (${code ?? signal}): ${stderr.trim() || "no message"}`);
    finished = true;
  } finally {
    if (!finished) {
      child.kill("SIGKILL");
      // Awaited: what the input holds (a scheduler lease) is given back before the caller
      // sees the failure or the early end, so an error response means the engine is free.
      if (!inputDone) await Promise.resolve(input.return?.()).catch(() => undefined);
    }
  }
}

/** Resolves when `stream` can take more, or when it closed (ffmpeg gone: no drain will come). */
function drainedOrClosed(stream: Writable): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}
