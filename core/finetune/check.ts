/**
 * `chorus finetune check`: every clip of a dataset measured against what the trainer does with
 * it (drops, silent drops, failures) and what makes a good dataset. This file reads and decodes
 * the clips and assembles the report; the rules are in check/clip.ts (per clip) and
 * check/dataset.ts (dataset-wide), the report's shape in check/report.ts. Rules and thresholds:
 * docs/finetune.md ("Dataset check").
 */
import fs from "node:fs";
import { clipFindings } from "./check/clip.ts";
import { datasetFindings } from "./check/dataset.ts";
import { clipTotals, type CheckReport, type ClipReport } from "./check/report.ts";
import { isInside, isUnder } from "./confine.ts";
import { AudioAnalyser, type AudioStats, DecodeError, decodeAudio, mapLimit } from "./dataset/audio.ts";
import type { Finding } from "./dataset/findings.ts";
import { readDataset } from "./dataset/read.ts";
import type { TrainableModel } from "./model.ts";

export type { CheckReport, ClipReport } from "./check/report.ts";

export interface CheckOptions {
  model: TrainableModel;
  language?: string;
  modelDir?: string;
  /** The trainer's clip cap (default: the model's). */
  maxClipSeconds?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Only files under these folders (real paths) are read; the API sets finetune.datasetDirs. */
  confineTo?: string[];
}

/** Checks the dataset in `dir` for `options.model`'s trainer (never throws for what it finds: that goes to `findings`). */
export async function checkDataset(dir: string, options: CheckOptions): Promise<CheckReport> {
  const { model } = options;
  const limits = model.limits;
  const cap = options.maxClipSeconds ?? limits.maxClipSeconds;
  const listing = readDataset(dir, options.confineTo);
  const findings: Finding[] = [...listing.findings];
  const language = options.language ?? listing.language ?? "en";
  if (options.language && listing.language && options.language !== listing.language) {
    findings.push({
      severity: "warning",
      code: "language-mismatch",
      message: `--language ${options.language} but lang.txt says ${listing.language}`,
      fix: "AllTalk v2 uses lang.txt over the UI setting: make them agree",
    });
  }
  if (!limits.languages.includes(language)) {
    findings.push({
      severity: "error",
      code: "language-unsupported",
      message: `language '${language}' is not one ${model.name} trains on`,
      fix: `use one of ${limits.languages.join(", ")}`,
    });
  }
  const tokenizer = model.tokenizer(options.modelDir);
  if (tokenizer.kind === "estimate")
    findings.push({
      severity: "info",
      code: "tokens-estimated",
      message: "text lengths in tokens are estimated (no --model-dir with vocab.json)",
      fix: "pass --model-dir pointing at the model folder for exact token counts and unknown-character checks",
    });

  const analyser = new AudioAnalyser();
  const clips: ClipReport[] = [];
  const stats: (AudioStats | undefined)[] = [];
  let done = 0;
  try {
    const results = await mapLimit(listing.entries, 2, async (e) => {
      let s: AudioStats | undefined;
      let rate: number | undefined;
      let channels: number | undefined;
      // Confined (the API): decide "outside" before looking, so nothing is learnt about other paths.
      const roots = options.confineTo;
      const lexicallyInside = !roots || isUnder(e.audioPath, roots);
      if (roots && (!lexicallyInside || (fs.existsSync(e.audioPath) && !isInside(e.audioPath, roots)))) {
        findings.push({
          severity: "error",
          code: "outside-dataset-dirs",
          clip: e.clip,
          message: `${e.clip} (${e.source}) lies outside the configured dataset folders; not read`,
          fix: "keep the audio inside the dataset folder (finetune.datasetDirs)",
        });
      } else if (!fs.existsSync(e.audioPath)) {
        findings.push({
          severity: "error",
          code: "missing-file",
          clip: e.clip,
          message: `${e.clip} (${e.source}) does not exist`,
          fix: "fix the path in the metadata or remove the row; the trainer skips missing files",
        });
      } else {
        try {
          const d = await decodeAudio(e.audioPath, limits.sampleRate, 600, options.signal);
          rate = d.sourceRate;
          channels = d.sourceChannels;
          s = await analyser.analyse(d.samples, d.sampleRate);
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          findings.push({ severity: "error", code: "undecodable", clip: e.clip, message: `${e.clip}: ${err.message}`, fix: "convert it to WAV or remove it" });
        }
      }
      options.onProgress?.(++done, listing.entries.length);
      return { e, s, rate, channels };
    });
    for (const { e, s, rate, channels } of results) {
      const text = e.text.trim();
      const tokens = text ? tokenizer.count(text, language) : 0;
      const found = clipFindings(e, text, tokens, s, { limits, cap, language, tokenizer });
      findings.push(...found);
      const errors = found.some((f) => f.severity === "error") || !s;
      clips.push({
        clip: e.clip,
        split: e.split,
        text,
        seconds: s?.seconds,
        speechSeconds: s?.speechSeconds,
        tokens,
        characters: text.length,
        sourceRate: rate,
        sourceChannels: channels,
        kept: !errors,
      });
      stats.push(s);
    }
  } finally {
    await analyser.close();
  }

  const { trainMinutes, ...sums } = clipTotals(clips);
  findings.push(
    ...datasetFindings(
      listing,
      clips,
      stats.map((s) => s?.hash),
      sums,
      limits,
    ),
  );

  const severities = { error: 0, warning: 0, info: 0 };
  for (const f of findings) severities[f.severity]++;
  const totals = { ...sums, errors: severities.error, warnings: severities.warning, infos: severities.info };
  const summary = `${sums.minutesTrained.toFixed(1)} of ${trainMinutes.toFixed(1)} minutes will be trained on (${sums.keptTrainClips} of ${sums.trainClips} training clips kept; ${sums.evalClips} eval clips); ${totals.errors} error(s), ${totals.warnings} warning(s)`;
  return {
    dir: listing.dir,
    format: listing.format,
    language,
    model: model.id,
    tokenizer: tokenizer.kind,
    maxClipSeconds: cap,
    clips,
    findings,
    totals,
    summary,
  };
}
