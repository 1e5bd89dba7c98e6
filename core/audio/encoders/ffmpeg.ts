/**
 * Streaming encoding through the static ffmpeg binary shipped in the npm package
 * `@ffmpeg-installer/ffmpeg` (its platform package carries the executable; no install script
 * or download needed). One child process per stream: s16le PCM in on stdin, the encoded
 * container out on stdout, flushed packet by packet so bytes leave as soon as they exist.
 * Processes are started by a small launcher process (spawner.ts): started from the host, each
 * start stalled its event loop for 10-50 ms (a fork copies the host's page tables).
 * Starting ffmpeg also takes tens of milliseconds of its own, which came before a stream's
 * first bytes (TTFA, issue 15): so once a stream's first bytes are out, one more process with
 * the same command line is started and left waiting on its stdin (a spare, `takeProcess`),
 * for the next stream of that format; unused, it is stopped after SPARE_IDLE_MS.
 * `FFMPEG_SPARES=0` turns this off (named like FFMPEG_PATH: a CHORUS_ variable would be read
 * as a configuration key).
 */
import { accessSync, chmodSync, constants } from "node:fs";
import type { Writable } from "node:stream";
import { createRequire } from "node:module";
import { pcmBytes } from "../output/wav.ts";
import { launch, type Launched } from "./spawner.ts";

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
  child: Promise<Launched | undefined>;
  timer: NodeJS.Timeout;
}
const spares = new Map<string, Spare>();
let started = 0;

/** ffmpeg processes started so far, and those waiting as spares (tests). */
export function ffmpegStats(): { started: number; spares: number } {
  return { started, spares: spares.size };
}

/** Through the launcher (spawner.ts): starting it from the host would stall the event loop. */
function startFfmpeg(args: string[]): Promise<Launched> {
  started++;
  return launch(ffmpegPath(), args);
}

/** Ends a process no stream reads: killed, its pipes closed here. */
function drop(child: Launched): void {
  child.kill();
  child.stdin.destroy();
  child.stdout.destroy();
}

const keyOf = (args: string[]) => `${ffmpegPath()}\0${args.join("\0")}`;

/**
 * An ffmpeg for `args`: the spare started for them if it is alive, else a new one. A spare
 * does not keep the process alive (unref'd), and exits by itself when its stdin closes (the
 * host went away).
 */
export async function takeProcess(args: string[]): Promise<Launched> {
  const key = keyOf(args);
  const spare = spares.get(key);
  spares.delete(key);
  if (spare) {
    clearTimeout(spare.timer);
    const child = await spare.child;
    if (child?.alive()) {
      child.ref();
      return child;
    }
    if (child) drop(child);
  }
  return startFfmpeg(args);
}

/**
 * Starts a spare for the next stream with `args` unless one waits already. Called once a
 * stream's first bytes are out, so that the spare's start-up (CPU) is not in that window.
 */
export function prepareSpare(args: string[]): void {
  if (process.env.FFMPEG_SPARES === "0") return;
  const key = keyOf(args);
  if (spares.has(key)) return;
  if (spares.size >= MAX_SPARES) {
    const [oldest, old] = spares.entries().next().value as [string, Spare];
    spares.delete(oldest);
    clearTimeout(old.timer);
    void old.child.then((c) => c && drop(c));
  }
  // No ffmpeg there: undefined, and the stream that takes it starts its own and reports why.
  const child = startFfmpeg(args).then(
    (c) => {
      c.unref();
      c.stdin.on("error", () => {});
      return c;
    },
    () => undefined,
  );
  const spare: Spare = {
    child,
    timer: setTimeout(() => {
      if (spares.get(key) === spare) spares.delete(key);
      void child.then((c) => c && drop(c));
    }, SPARE_IDLE_MS),
  };
  spare.timer.unref();
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
 * it arrives (no input probing, so the first bytes follow the first chunk). Input is written
 * with back-pressure. If the consumer stops early, or the input
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
  const input = pcm[Symbol.asyncIterator]();
  let inputError: unknown;
  let inputDone = false;
  let finished = false;
  let child: Launched | undefined;
  try {
    try {
      child = await takeProcess(args);
    } catch (err) {
      if (err instanceof EncoderError) throw err;
      throw new EncoderError(`cannot run ffmpeg (${ffmpegPath()}): ${(err as Error).message}`, { cause: err });
    }
    const proc = child;
    proc.stdin.on("error", () => {
      /* EPIPE when ffmpeg exits early: reported through its exit status */
    });
    const feeding = (async () => {
      try {
        for (;;) {
          const next = await input.next();
          if (next.done) break;
          if (proc.stdin.destroyed) return;
          if (!proc.stdin.write(pcmBytes(next.value))) await drainedOrClosed(proc.stdin);
        }
        inputDone = true;
        proc.stdin.end();
      } catch (err) {
        inputError = err;
        proc.kill();
      }
    })();
    let first = true;
    let outputError: unknown;
    try {
      for await (const chunk of proc.stdout) {
        yield chunk as Buffer;
        if (first) prepareSpare(args);
        first = false;
      }
    } catch (err) {
      outputError = err;
      proc.kill();
    }
    await feeding;
    if (inputError !== undefined) throw inputError;
    const { code, signal, stderr } = await proc.exited;
    if (code !== 0) throw new EncoderError(`ffmpeg failed (${code ?? signal}): ${stderr.trim() || "no message"}`);
    if (outputError !== undefined) throw new EncoderError(`reading ffmpeg's output failed: ${(outputError as Error).message}`, { cause: outputError });
    finished = true;
  } finally {
    if (!finished) {
      if (child) drop(child);
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
