/**
 * Fixtures for the fine-tune runner tests: a coqui-format dataset of tone clips (only their
 * lengths matter to the runner and the stand-in trainer), a base-model folder with the six
 * files (placeholders, plus a small real BPE vocab.json so the check tokenizes), and the
 * STAND-IN trainer (tests/finetune/standin/trainer.py: no torch, same protocol).
 */
import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import { wavFile } from "../../core/audio/output/wav.ts";
import type { Config } from "../../core/config/schema.ts";
import { systemClock } from "../../core/scheduler/clock.ts";
import { noGpuProbe } from "../../core/scheduler/devices.ts";
import { Scheduler } from "../../core/scheduler/scheduler.ts";
import { sentence } from "./helpers.ts";

export const STANDIN = path.join(import.meta.dirname, "standin", "trainer.py");
export const TRAIN_SECONDS = [3, 4, 5, 6, 7, 8, 9, 10, 6, 5, 4, 7, 8, 6, 5, 9, 6, 7, 5, 6];
export const EVAL_SECONDS = [4, 5, 6, 7];

function tone(seconds: number, rate = 22050): Int16Array {
  const out = new Int16Array(Math.round(seconds * rate));
  for (let i = 0; i < out.length; i++)
    out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 180 * i) / rate) * (0.6 + 0.4 * Math.sin((2 * Math.PI * 3 * i) / rate)));
  return out;
}

/** Text of a plausible length for `seconds` of speech (~13 characters a second). */
function textFor(seconds: number, i: number): string {
  let text = "";
  for (let k = 0; text.length < seconds * 13; k++) text += `${text ? " " : ""}${sentence(i * 7 + k)}`;
  return text;
}

/** A scheduler with no engines and its simulated cards, for the runner's training leases. */
export function schedulerWithoutEngines(config: Config): Scheduler {
  return new Scheduler({
    config: config.scheduler,
    catalog: { manifest: () => undefined, get: () => undefined },
    loader: { load: () => Promise.reject(new Error("no engines")) },
    probe: noGpuProbe,
    clock: systemClock,
    log: pino({ level: "silent" }),
  });
}

export function makeDataset(dir: string): string {
  fs.mkdirSync(path.join(dir, "wavs"), { recursive: true });
  const rows = (secs: number[], prefix: string) =>
    secs.map((s, i) => {
      const file = `wavs/${prefix}${String(i).padStart(2, "0")}.wav`;
      fs.writeFileSync(path.join(dir, file), wavFile(22050, [tone(s)]));
      return `${file}|${textFor(s, i + (prefix === "e" ? 50 : 0))}|tester`;
    });
  const header = "audio_file|text|speaker_name";
  fs.writeFileSync(path.join(dir, "metadata_train.csv"), `${[header, ...rows(TRAIN_SECONDS, "t")].join("\n")}\n`);
  fs.writeFileSync(path.join(dir, "metadata_eval.csv"), `${[header, ...rows(EVAL_SECONDS, "e")].join("\n")}\n`);
  fs.writeFileSync(path.join(dir, "lang.txt"), "en\n");
  return dir;
}

export function makeBaseModel(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-";
  const vocab: Record<string, number> = { "[STOP]": 0, "[UNK]": 1, "[SPACE]": 2, "[START]": 3, "[en]": 4 };
  for (const ch of chars) vocab[ch] = Object.keys(vocab).length;
  fs.writeFileSync(path.join(dir, "vocab.json"), JSON.stringify({ model: { type: "BPE", vocab, merges: [] } }));
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ model: "xtts", note: "test base model" }));
  for (const f of ["model.pth", "speakers_xtts.pth", "dvae.pth", "mel_stats.pth"]) fs.writeFileSync(path.join(dir, f), `placeholder ${f}\n`);
  return dir;
}

/** The stand-in's memory model: fixed + perSampleSecond x batch x longest clip, on a card of totalMb. */
export function standinEnv(
  o: { totalMb?: number; fixedMb?: number; perSampleSecond?: number; longestAtStep?: number; holdAfterStep?: number; stepSeconds?: number } = {},
): Record<string, string> {
  return {
    STANDIN_TOTAL_MB: String(o.totalMb ?? 12288),
    STANDIN_FIXED_MB: String(o.fixedMb ?? 8000),
    STANDIN_MB_PER_SAMPLE_SECOND: String(o.perSampleSecond ?? 150),
    STANDIN_LONGEST_AT_STEP: String(o.longestAtStep ?? 3),
    STANDIN_HOLD_AFTER_STEP: String(o.holdAfterStep ?? -1),
    STANDIN_STEP_SECONDS: String(o.stepSeconds ?? 0.005),
  };
}

/** Polls `check` until it returns a value (tests wait on conditions, never fixed sleeps). */
export async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
