/**
 * The result of a fine-tune is a voice: a complete model folder (for XTTS: the trained model.pth
 * the worker exported, plus config.json, vocab.json, speakers_xtts.pth, dvae.pth and
 * mel_stats.pth from the base model, so it can itself be fine-tuned again; the files come from
 * the model's TrainerRuntime) with reference clips chosen from the dataset: the longest clean
 * clips, 6-30 s of speech in total, in `reference/`.
 */
import fs from "node:fs";
import path from "node:path";
import type { JobClip } from "./store.ts";

import type { TrainerRuntime } from "../model.ts";

export const REFERENCE_SECONDS = { min: 6, max: 30 };

/** Throws naming the missing files (and how to get them). */
export function checkBaseModel(dir: string, runtime: TrainerRuntime): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`base model folder ${dir} does not exist (${runtime.baseModelHint})`);
  const missing = runtime.baseModelFiles.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length)
    throw new Error(
      `base model folder ${dir} lacks ${missing.join(", ")}; fine-tuning needs all of ${runtime.baseModelFiles.join(", ")} (${runtime.baseModelHint})`,
    );
}

/** Longest clean clips first, as many as fit in 30 s; at least 6 s when the dataset has it. */
export function chooseReferences(clips: JobClip[]): { chosen: JobClip[]; seconds: number; note?: string } {
  const clean = clips.filter((c) => c.clean).sort((a, b) => b.seconds - a.seconds || a.clip.localeCompare(b.clip));
  const chosen: JobClip[] = [];
  let seconds = 0;
  for (const c of clean) {
    if (seconds + c.seconds > REFERENCE_SECONDS.max) continue;
    chosen.push(c);
    seconds += c.seconds;
    if (seconds >= REFERENCE_SECONDS.max - 0.5) break;
  }
  const note =
    seconds < REFERENCE_SECONDS.min
      ? `only ${seconds.toFixed(1)} s of clean reference speech (6-30 s recommended); add longer clean clips to the dataset or put a reference clip in voices/xtts/`
      : undefined;
  return { chosen, seconds: Math.round(seconds * 10) / 10, note };
}

export function assembleResult(o: {
  copiedFiles: string[];
  baseModelDir: string;
  outDir: string;
  datasetDir: string;
  clips: JobClip[];
  metadata: Record<string, unknown>;
}): { referenceClips: string[]; referenceSeconds: number; note?: string } {
  if (!fs.existsSync(path.join(o.outDir, "model.pth"))) throw new Error(`the trainer reported success but ${path.join(o.outDir, "model.pth")} is missing`);
  for (const f of o.copiedFiles) fs.copyFileSync(path.join(o.baseModelDir, f), path.join(o.outDir, f));
  const refDir = path.join(o.outDir, "reference");
  fs.mkdirSync(refDir, { recursive: true });
  const { chosen, seconds, note } = chooseReferences(o.clips);
  const referenceClips: string[] = [];
  for (const [i, c] of chosen.entries()) {
    const name = `${String(i + 1).padStart(2, "0")}-${path.basename(c.clip)}`;
    fs.copyFileSync(path.resolve(o.datasetDir, c.clip), path.join(refDir, name));
    referenceClips.push(path.join("reference", name));
  }
  const info = { ...o.metadata, baseModel: o.baseModelDir, referenceClips, referenceSeconds: seconds, createdAt: new Date().toISOString() };
  fs.writeFileSync(path.join(o.outDir, "chorus-finetune.json"), `${JSON.stringify(info, null, 2)}\n`);
  return { referenceClips, referenceSeconds: seconds, note };
}
