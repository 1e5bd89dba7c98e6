/** `chorus say TEXT [-o file]`: synthesise in-process and write WAV (or PCM, MP3, Opus, AAC, FLAC) to a file or stdout. */
import fs from "node:fs";
import path from "node:path";
import { wholeAudio } from "../audio/output/index.ts";
import { ChorusError } from "../errors.ts";
import { createHost } from "../host.ts";
import { validateSpeech, type SpeechRequest } from "../request/speech-request.ts";
import { resolveVoiceRef } from "../voices/reference.ts";
import { cliConfig, ensureDataDir, missingDefault, numberFlag, type CliValues } from "./options.ts";
import { withProgress } from "./say-progress.ts";
import { CliFailure, UsageError } from "./usage.ts";

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

export async function sayCommand(args: string[], values: CliValues): Promise<number> {
  const text = args.length ? args.join(" ") : process.stdin.isTTY ? "" : await readStdin();
  if (!text.trim()) throw new UsageError('say needs text: chorus say "Hello world" (or pipe text on stdin)', "say");
  if (!values.output && process.stdout.isTTY) throw new UsageError("refusing to write audio to a terminal; use -o FILE or redirect stdout", "say");
  const speed = numberFlag("speed", values.speed, "say");
  const pitch = numberFlag("pitch", values.pitch, "say");
  if (values.output) checkWritable(values.output);
  const config = cliConfig(values);
  ensureDataDir(config);
  const host = createHost(config);
  try {
    const controller = new AbortController();
    process.once("SIGINT", () => controller.abort());
    const target = resolveVoiceRef(host.registry, values.voice, values.engine, { explicit: true, field: "--voice" });
    const missing = target.engine ? undefined : missingDefault(host.registry);
    if (missing) throw new CliFailure(missing);
    const request = sayRequest(
      { text, engine: target.engine, voice: target.voice, speed, pitch, format: values.format ?? formatOf(values.output) },
      config.text,
    );
    const speech = await host.pipeline.start(request, controller.signal);
    const chunks = process.stderr.isTTY ? withProgress(speech.chunks, (t) => process.stderr.write(t)) : speech.chunks;
    // The whole file at once: its header carries the total length (WAV sizes, FLAC samples).
    const out = await wholeAudio({ sampleRate: speech.sampleRate, chunks }, { format: request.format });
    const bytes = out.body;
    if (values.output) {
      try {
        fs.writeFileSync(values.output, bytes);
      } catch (err) {
        throw new CliFailure(`cannot write ${values.output}: ${(err as Error).message}`, { cause: err });
      }
      process.stderr.write(
        `wrote ${values.output}: ${(out.samples / out.sampleRate).toFixed(2)} s at ${out.sampleRate} Hz (${speech.engineId}/${speech.voice})\n`,
      );
    } else {
      await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())));
    }
    // What the X-Chorus-Ignored / X-Chorus-Clamped headers say over HTTP.
    for (const field of speech.ignored ?? []) process.stderr.write(`note: --${field} ignored: engine '${speech.engineId}' does not support it\n`);
    for (const [field, used] of Object.entries(speech.clamped ?? {}))
      process.stderr.write(`note: --${field} clamped to ${used}, the most engine '${speech.engineId}' can do\n`);
    return 0;
  } finally {
    await host.close();
  }
}

/** The format a file name asks for when --format is left out (`-o x.mp3` is MP3, not a WAV named .mp3); WAV otherwise. */
const EXTENSIONS: Record<string, string> = {
  ".wav": "wav",
  ".mp3": "mp3",
  ".opus": "opus",
  ".ogg": "opus",
  ".aac": "aac",
  ".flac": "flac",
  ".pcm": "pcm",
  ".raw": "pcm",
};
function formatOf(file: string | undefined): string {
  return (file && EXTENSIONS[path.extname(file).toLowerCase()]) || "wav";
}

/** Says before the synthesis, in one line, that `-o FILE` cannot be written (no such folder, a folder, no permission). */
function checkWritable(file: string): void {
  const dir = path.dirname(path.resolve(file));
  let reason: string | undefined;
  if (!fs.existsSync(dir)) reason = `no folder ${dir}`;
  else if (!fs.statSync(dir).isDirectory()) reason = `${dir} is not a folder`;
  else if (fs.existsSync(file) && fs.statSync(file).isDirectory()) reason = "it is a folder";
  else {
    try {
      fs.accessSync(fs.existsSync(file) ? file : dir, fs.constants.W_OK);
    } catch {
      reason = `no permission to write in ${dir}`;
    }
  }
  if (reason) throw new CliFailure(`cannot write ${file}: ${reason} (-o names the output file)`);
}

/** `chorus say`'s flags as a speech request; a value the validator refuses is a usage error naming the flag. */
function sayRequest(fields: Record<string, unknown>, limits: { maxLength: number }): SpeechRequest {
  const names = { engine: "--engine", voice: "--voice", speed: "--speed", pitch: "--pitch", format: "--format" };
  try {
    return validateSpeech(fields, limits, names);
  } catch (err) {
    if (err instanceof ChorusError && err.code === "CHORUS_ERR_REQUEST_INVALID" && err.field?.startsWith("--")) throw new UsageError(err.message, "say");
    // A chapter piped in: say which setting holds the limit.
    if (err instanceof ChorusError && err.code === "CHORUS_ERR_TEXT_TOO_LONG")
      throw new CliFailure(
        `the text is ${String(fields.text).trim().length} characters, over text.maxLength (${limits.maxLength}); raise it (CHORUS_TEXT__MAX_LENGTH=N) or split the text`,
      );
    throw err;
  }
}
