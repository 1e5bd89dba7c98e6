/**
 * Transcribers for `chorus finetune prepare`: anything that turns an audio file into words with
 * start and end times. The default runs faster-whisper (whisper_transcribe.py) in the Python
 * environment `PythonEnvironments` provides; tests plug in a stand-in of their own.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { PythonEnvironments, PythonEnvironmentSpec } from "./python.ts";

export interface Word {
  word: string;
  /** Seconds from the start of the file. */
  start: number;
  end: number;
}

export interface TranscribeOptions {
  language?: string;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export interface Transcriber {
  name: string;
  transcribe(file: string, options?: TranscribeOptions): Promise<{ words: Word[]; language: string | undefined }>;
}

export const WHISPER_ENV: PythonEnvironmentSpec = { name: "faster-whisper", requirements: ["faster-whisper>=1.0.1"], imports: ["faster_whisper"] };
export const WHISPER_MODELS = ["tiny", "base", "small", "medium", "large-v2", "large-v3", "large-v3-turbo"];
const SCRIPT = fileURLToPath(new URL("./whisper_transcribe.py", import.meta.url));

export class TranscriberError extends Error {}

/** faster-whisper with word timestamps and its VAD filter, as AllTalk's step 1 runs it. */
export class FasterWhisperTranscriber implements Transcriber {
  readonly name: string;

  constructor(
    private readonly environments: PythonEnvironments,
    private readonly model = "large-v2",
    private readonly device = "auto",
  ) {
    this.name = `faster-whisper ${model}`;
  }

  async transcribe(file: string, options: TranscribeOptions = {}): Promise<{ words: Word[]; language: string | undefined }> {
    const python = await this.environments.pythonFor(WHISPER_ENV, { signal: options.signal });
    const args = [SCRIPT, file, "--model", this.model, "--device", this.device, ...(options.language ? ["--language", options.language] : [])];
    return new Promise((resolve, reject) => {
      const child = spawn(python, args, { stdio: ["ignore", "pipe", "pipe"], signal: options.signal });
      const words: Word[] = [];
      let language: string | undefined;
      let rest = "";
      let stderr = "";
      let done = false;
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        rest += chunk;
        const lines = rest.split("\n");
        rest = lines.pop() ?? "";
        if (rest.length > 1_000_000) child.kill(); // no line is this long: not our script
        for (const line of lines) {
          if (!line.trim()) continue;
          try {
            const m = JSON.parse(line) as Partial<Word> & { progress?: number; done?: boolean; language?: string };
            if (typeof m.word === "string" && typeof m.start === "number" && typeof m.end === "number")
              words.push({ word: m.word, start: m.start, end: m.end });
            else if (typeof m.progress === "number") options.onProgress?.(m.progress);
            else if (m.done) [done, language] = [true, m.language];
          } catch {
            /* a library printed something: ignore */
          }
        }
      });
      child.stderr.setEncoding("utf8").on("data", (c: string) => {
        stderr = (stderr + c).slice(-4000);
      });
      child.on("error", (err) => reject(new TranscriberError(`cannot run ${python}: ${err.message}`)));
      child.on("close", (code) => {
        if (code === 0 && done) resolve({ words, language });
        else reject(new TranscriberError(`faster-whisper failed on ${file} (exit ${code}): ${stderr.trim().split("\n").pop() ?? ""}`));
      });
    });
  }
}
