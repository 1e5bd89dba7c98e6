/**
 * Streaming encoding through the static ffmpeg binary shipped in the npm package
 * `@ffmpeg-installer/ffmpeg` (its platform package carries the executable; no install script
 * or download needed). One child process per stream: s16le PCM in on stdin, the encoded
 * container out on stdout, flushed packet by packet so bytes leave as soon as they exist.
 */
import { spawn } from "node:child_process";
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
  const args = ["-hide_banner", "-loglevel", "error", "-nostdin", "-probesize", "32", "-analyzeduration", "0", "-f", "s16le", "-ar", String(sampleRate), "-ac", "1", "-i", "pipe:0", ...outputArgs, "pipe:1"];
  const child = spawn(ffmpegPath(), args, { stdio: ["pipe", "pipe", "pipe"] });
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
