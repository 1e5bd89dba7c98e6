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
  totals: {
    clips: number;
    seconds: number;
    trainClips: number;
    evalClips: number;
    keptTrainClips: number;
    minutesTrained: number;
    errors: number;
    warnings: number;
    infos: number;
  };
  summary: string;
}
