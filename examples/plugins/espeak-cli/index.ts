/**
 * A native program as a Chorus engine: runs the system's `espeak-ng` once per sentence and
 * reads the WAV it writes to stdout. The manifest asks for `isolation: "process"`, so the
 * engine (and every program it starts) lives in its own child process. Cancellation kills
 * the running program. Set `engines.settings.espeak-cli.binary` to use another path.
 */
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import {
  SynthesisAbortedError,
  EngineError,
  VoiceNotFoundError,
  definePlugin,
  parseWav,
  type AudioChunk,
  type Engine,
  type LoadContext,
  type SynthesisRequest,
  type Voice,
} from "chorus/sdk";

const run = promisify(execFile);

/** Parses `espeak-ng --voices`: "Pty Language Age/Gender VoiceName File Other". */
export function parseVoices(listing: string): Voice[] {
  const voices: Voice[] = [];
  for (const line of listing.split("\n").slice(1)) {
    const [, language, ageGender, name] = line.trim().split(/\s+/);
    if (!language || !name) continue;
    const g = ageGender?.split("/")[1];
    voices.push({ id: language, name: name.replace(/_/g, " "), languages: [language], gender: g === "M" ? "male" : g === "F" ? "female" : undefined });
  }
  return voices;
}

class EspeakCli implements Engine {
  private binary = "espeak-ng";
  private voices: Voice[] = [];

  async load(ctx: LoadContext): Promise<void> {
    if (typeof ctx.settings.binary === "string") this.binary = ctx.settings.binary;
    try {
      this.voices = parseVoices((await run(this.binary, ["--voices"])).stdout);
    } catch (err) {
      throw new EngineError("ENGINE_FAILED", `cannot run '${this.binary}' (install it: apt-get install espeak-ng): ${(err as Error).message}`);
    }
    ctx.log.info("espeak-ng found", { binary: this.binary, voices: this.voices.length });
  }

  async unload(): Promise<void> {}

  async listVoices(): Promise<Voice[]> {
    return this.voices;
  }

  async *synthesize(request: SynthesisRequest, signal: AbortSignal): AsyncIterable<AudioChunk> {
    if (!this.voices.some((v) => v.id === request.voice)) throw new VoiceNotFoundError(request.voice);
    const args = ["--stdout", "-v", request.voice, "-s", String(Math.round(175 * request.speed)), "-p", String(Math.round(Math.min(99, 50 * request.pitch)))];
    const gap = request.options.wordGap;
    if (typeof gap === "number" && gap > 0) args.push("-g", String(gap));
    args.push("--", request.text);
    yield parseWav(await this.capture(args, signal));
  }

  /** Runs the program, resolving with its stdout; aborting kills it. */
  private capture(args: string[], signal: AbortSignal): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new SynthesisAbortedError());
      const child = spawn(this.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      let err = "";
      const onAbort = () => child.kill("SIGKILL");
      signal.addEventListener("abort", onAbort, { once: true });
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => (err += b.toString()));
      child.on("error", (e) => reject(new EngineError("ENGINE_FAILED", e.message)));
      child.on("close", (code) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) reject(new SynthesisAbortedError());
        else if (code !== 0) reject(new EngineError("ENGINE_FAILED", `espeak-ng exited with ${code}: ${err.trim()}`));
        else resolve(Buffer.concat(out));
      });
    });
  }
}

export default definePlugin({ create: () => new EspeakCli() });
