/**
 * `chorus finetune check`: every clip of a dataset measured against what the trainer does with
 * it (drops, silent drops, failures) and what makes a good dataset. Rules and thresholds:
 * docs/finetune.md ("Dataset check").
 */
import fs from "node:fs";
import path from "node:path";
import type { TrainableModel } from "./model.ts";
import type { Finding } from "./dataset/findings.ts";
import { readDataset } from "./dataset/read.ts";
import { AudioAnalyser, DecodeError, decodeAudio, mapLimit, type AudioStats } from "./dataset/audio.ts";

/** Characters per second of speech outside this band suggest a transcript that is not the clip's [heuristic]. */
export const CPS_BAND = { min: 5, max: 25 };
/** Recommended clip lengths, seconds (AllTalk v2's segmenter defaults; one or two sentences). */
export const RECOMMENDED_CLIP = { min: 2, max: 11 };
/** AllTalk's "max audio length" default (max_wav_length 242550 samples); coqui's is 11.61 s. */
export const ALLTALK_MAX_CLIP = 11;
/** Target total duration, seconds. */
export const TARGET_TOTAL = { min: 180, max: 600 };

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

/** Whether `file`'s real path (symlinks resolved) lies under one of `roots`. */
export function isInside(file: string, roots: string[]): boolean {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return false;
  }
  return roots.some((r) => real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
}

function sentenceCount(text: string): number {
  return (text.trim().match(/[.!?。！？]+(?=\s|$)/g) ?? []).length || 1;
}

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
      const lexicallyInside = !roots || roots.some((r) => e.audioPath === r || e.audioPath.startsWith(r + path.sep));
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
      const before = findings.length;
      const add = (severity: Finding["severity"], code: string, message: string, fix: string) => findings.push({ severity, code, clip: e.clip, message, fix });
      const text = e.text.trim();
      const tokens = text ? tokenizer.count(text, language) : 0;
      if (!text) add("error", "text-empty", `${e.clip} has no transcript`, "write its transcript or remove it; the trainer drops empty texts");
      if (text.includes("|"))
        add(
          "error",
          "text-pipe",
          `the transcript of ${e.clip} contains '|', the column separator (${e.source})`,
          "remove the '|' from the text; the coqui formatter splits the row there",
        );
      if (tokens > limits.maxTextTokens)
        add(
          "error",
          "text-too-many-tokens",
          `${e.clip}: ${tokens} tokens, over the trainer's ${limits.maxTextTokens}; dropped silently`,
          "split the clip into shorter sentences",
        );
      const charLimit = limits.charLimits[language];
      if (charLimit && text.length > charLimit)
        add(
          "warning",
          "text-too-many-characters",
          `${e.clip}: ${text.length} characters, over the tokenizer's ${charLimit} for '${language}'`,
          "split the clip; long texts are truncated in quality",
        );
      const unknown = text ? tokenizer.unknownCharacters(text, language) : [];
      if (unknown.length)
        add(
          "error",
          "text-unknown-characters",
          `${e.clip}: characters the tokenizer does not know: ${unknown.map((c) => JSON.stringify(c)).join(" ")}`,
          "replace or remove them; a sample with [UNK] fails the trainer's assert and is replaced",
        );
      if (text && sentenceCount(text) > 2)
        add(
          "warning",
          "clip-many-sentences",
          `${e.clip} holds ${sentenceCount(text)} sentences`,
          "1-2 sentences per clip are recommended: re-cut it with chorus finetune prepare",
        );
      if (s) {
        if (s.seconds < limits.minClipSeconds)
          add(
            "error",
            "clip-too-short",
            `${e.clip}: ${s.seconds.toFixed(2)} s, under the trainer's ${limits.minClipSeconds} s; dropped`,
            "remove it or merge it with its neighbour",
          );
        else if (s.seconds > cap)
          add(
            "error",
            "clip-too-long",
            `${e.clip}: ${s.seconds.toFixed(2)} s, over the trainer's maximum of ${cap.toFixed(2)} s; dropped silently`,
            "split it at a sentence end or pause (chorus finetune prepare does), or raise max_wav_length (costs memory: chorus finetune plan)",
          );
        else if (s.seconds < RECOMMENDED_CLIP.min || s.seconds > RECOMMENDED_CLIP.max) {
          const alltalk = s.seconds > ALLTALK_MAX_CLIP ? `; AllTalk's default max audio length (${ALLTALK_MAX_CLIP} s) drops it` : "";
          add(
            "warning",
            "clip-length",
            `${e.clip}: ${s.seconds.toFixed(2)} s, outside the recommended ${RECOMMENDED_CLIP.min}-${RECOMMENDED_CLIP.max} s${alltalk}`,
            "clips of 2-11 s train best; conditioning uses a random 3-6 s slice of the same clip",
          );
        }
        const silent = s.speechSeconds < 0.1 || s.rmsDb < -60;
        if (silent)
          add(
            "error",
            "clip-silent",
            `${e.clip} is silent (${s.rmsDb.toFixed(1)} dBFS RMS, ${s.speechSeconds.toFixed(2)} s of sound)`,
            "remove it: it teaches the model silence for its text",
          );
        else {
          if (s.rmsDb < -35)
            add(
              "warning",
              "level-low",
              `${e.clip} is very quiet (${s.rmsDb.toFixed(1)} dBFS RMS, peak ${s.peakDb.toFixed(1)} dBFS)`,
              "normalise it (e.g. to -20 dBFS RMS)",
            );
          if (s.clippedFraction > 0.001)
            add(
              "warning",
              "clipping",
              `${e.clip}: ${(s.clippedFraction * 100).toFixed(2)} % of samples at full scale (clipped)`,
              "re-record or use a de-clipper; clipping distorts the voice",
            );
          if (Math.abs(s.dcOffset) > 0.01)
            add(
              "warning",
              "dc-offset",
              `${e.clip}: DC offset ${(s.dcOffset * 100).toFixed(1)} % of full scale`,
              "high-pass filter it (ffmpeg -af highpass=f=40)",
            );
          if (s.leadingSilence + s.trailingSilence > 1.5)
            add(
              "info",
              "edge-silence",
              `${e.clip}: ${s.leadingSilence.toFixed(1)} s of silence before and ${s.trailingSilence.toFixed(1)} s after the speech`,
              "trim to about 0.2 s at each edge",
            );
          if (text && s.speechSeconds > 0) {
            const cps = text.length / s.speechSeconds;
            if (cps < CPS_BAND.min || cps > CPS_BAND.max)
              add(
                "warning",
                "text-audio-mismatch",
                `${e.clip}: ${text.length} characters over ${s.speechSeconds.toFixed(2)} s of speech = ${cps.toFixed(1)} characters/s, outside ${CPS_BAND.min}-${CPS_BAND.max}: the transcript is likely not this clip's`,
                "listen to it and fix the transcript or the cut",
              );
          }
        }
      }
      const errors = findings.slice(before).some((f) => f.severity === "error") || !s;
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

  // Dataset-wide findings.
  const byHash = new Map<string, string[]>();
  const byText = new Map<string, string[]>();
  clips.forEach((c, i) => {
    const h = stats[i]?.hash;
    if (h) byHash.set(h, [...(byHash.get(h) ?? []), c.clip]);
    const t = c.text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, " ")
      .trim();
    if (t) byText.set(t, [...(byText.get(t) ?? []), c.clip]);
  });
  for (const same of byHash.values())
    if (same.length > 1)
      findings.push({ severity: "warning", code: "duplicate-audio", clip: same[1], message: `same audio: ${same.join(", ")}`, fix: "keep one of them" });
  for (const same of byText.values())
    if (same.length > 1)
      findings.push({
        severity: "warning",
        code: "duplicate-text",
        clip: same[1],
        message: `same text in ${same.join(", ")}`,
        fix: "keep one, or check that each transcript is its clip's",
      });
  const rates = new Map<string, number>();
  for (const c of clips)
    if (c.sourceRate)
      rates.set(
        `${c.sourceRate} Hz ${c.sourceChannels === 1 ? "mono" : `${c.sourceChannels ?? "?"} channels`}`,
        (rates.get(`${c.sourceRate} Hz ${c.sourceChannels === 1 ? "mono" : `${c.sourceChannels ?? "?"} channels`}`) ?? 0) + 1,
      );
  if (rates.size)
    findings.push({
      severity: "info",
      code: "audio-format",
      message: `audio: ${[...rates].map(([k, n]) => `${k} (${n})`).join(", ")}; the trainer resamples to ${limits.sampleRate} Hz mono on every load`,
      fix: "nothing needed; 22.05 kHz mono saves the resampling each epoch",
    });
  const speakers = new Set(listing.entries.map((e) => e.speaker).filter(Boolean));
  if (speakers.size > 1)
    findings.push({
      severity: "warning",
      code: "speakers",
      message: `${speakers.size} speaker names: ${[...speakers].slice(0, 5).join(", ")}`,
      fix: "fine-tune one voice per dataset; mixed speakers blend",
    });

  const train = clips.filter((c) => c.split === "train");
  const evals = clips.filter((c) => c.split === "eval");
  const seconds = clips.reduce((a, c) => a + (c.seconds ?? 0), 0);
  if (listing.entries.length) {
    if (!listing.hasEvalSplit)
      findings.push({
        severity: "warning",
        code: "eval-split-missing",
        message: `no eval split (${listing.format} format)`,
        fix: "AllTalk needs metadata_eval.csv (10-30 % of the clips): chorus finetune prepare writes one",
      });
    else {
      const share = evals.length / clips.length;
      if (evals.length === 0)
        findings.push({
          severity: "error",
          code: "eval-split-empty",
          message: "metadata_eval.csv has no clips",
          fix: "move 10-30 % of the clips (at least 1) into it",
        });
      else if (share < 0.1 || share > 0.3)
        findings.push({
          severity: "warning",
          code: "eval-split-range",
          message: `eval split is ${(share * 100).toFixed(0)} % (${evals.length} of ${clips.length} clips), outside 10-30 %`,
          fix: "move clips between metadata_train.csv and metadata_eval.csv (AllTalk v2 clamps the split to 10-30 %)",
        });
      if (evals.length > 0 && evals.length < 10)
        findings.push({
          severity: "info",
          code: "eval-split-small",
          message: `${evals.length} eval clip(s); 10 or more are recommended`,
          fix: "more eval clips make the eval loss meaningful",
        });
    }
  } else
    findings.push({
      severity: "error",
      code: "dataset-empty",
      message: `no clips found in ${listing.dir} (${listing.format} format)`,
      fix: "point at a folder with metadata_train.csv, metadata.csv or audio files with .txt transcripts",
    });
  if (seconds < limits.minTotalSeconds)
    findings.push({
      severity: "error",
      code: "total-too-short",
      message: `${(seconds / 60).toFixed(1)} minutes of audio in total; the trainers refuse under ${limits.minTotalSeconds / 60} minutes`,
      fix: "record more: 3-10 minutes is the target",
    });
  else if (seconds < TARGET_TOTAL.min)
    findings.push({
      severity: "warning",
      code: "total-short",
      message: `${(seconds / 60).toFixed(1)} minutes of audio in total, under the 3 minutes recommended`,
      fix: "3-10 minutes is the target",
    });
  else if (seconds > TARGET_TOTAL.max)
    findings.push({
      severity: "info",
      code: "total-long",
      message: `${(seconds / 60).toFixed(1)} minutes of audio: more than the 10-minute target, which is fine (epochs take longer)`,
      fix: "nothing needed",
    });

  const keptTrain = train.filter((c) => c.kept);
  const minutesTrained = keptTrain.reduce((a, c) => a + (c.seconds ?? 0), 0) / 60;
  const count = (s: Finding["severity"]) => findings.filter((f) => f.severity === s).length;
  const totals = {
    clips: clips.length,
    seconds,
    trainClips: train.length,
    evalClips: evals.length,
    keptTrainClips: keptTrain.length,
    minutesTrained,
    errors: count("error"),
    warnings: count("warning"),
    infos: count("info"),
  };
  const summary = `${minutesTrained.toFixed(1)} of ${(train.reduce((a, c) => a + (c.seconds ?? 0), 0) / 60).toFixed(1)} minutes will be trained on (${keptTrain.length} of ${train.length} training clips kept; ${evals.length} eval clips); ${totals.errors} error(s), ${totals.warnings} warning(s)`;
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
