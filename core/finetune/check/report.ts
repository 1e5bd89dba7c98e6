/** What `chorus finetune check` answers: one row per clip, the findings, and the totals. */
import type { Finding } from "../dataset/findings.ts";

export interface ClipReport {
  clip: string;
  split: "train" | "eval";
  text: string;
  seconds: number | undefined;
  speechSeconds: number | undefined;
  tokens: number;
  characters: number;
  sourceRate: number | undefined;
  sourceChannels: number | undefined;
  /** Whether the trainer keeps it (no error finding). */
  kept: boolean;
}

export interface CheckReport {
  dir: string;
  format: string;
  language: string;
  model: string;
  tokenizer: "exact" | "estimate";
  maxClipSeconds: number;
  clips: ClipReport[];
  findings: Finding[];
  totals: Omit<ClipTotals, "trainMinutes"> & { errors: number; warnings: number; infos: number };
  summary: string;
}

/** Counts and durations over the clips, computed once for the dataset rules, the totals and the summary. */
export interface ClipTotals {
  clips: number;
  /** Seconds of audio, every clip. */
  seconds: number;
  trainClips: number;
  evalClips: number;
  keptTrainClips: number;
  /** Minutes of the training clips the trainer keeps. */
  minutesTrained: number;
  /** Minutes of every training clip, kept or not (the summary's "of N minutes"; not in the report's totals). */
  trainMinutes: number;
}

export function clipTotals(clips: ClipReport[]): ClipTotals {
  const t = { clips: clips.length, seconds: 0, trainClips: 0, evalClips: 0, keptTrainClips: 0, minutesTrained: 0, trainMinutes: 0 };
  for (const c of clips) {
    const seconds = c.seconds ?? 0;
    t.seconds += seconds;
    if (c.split === "eval") {
      t.evalClips++;
      continue;
    }
    t.trainClips++;
    t.trainMinutes += seconds;
    if (c.kept) {
      t.keptTrainClips++;
      t.minutesTrained += seconds;
    }
  }
  t.trainMinutes /= 60;
  t.minutesTrained /= 60;
  return t;
}
