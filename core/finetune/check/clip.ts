/**
 * The per-clip rules of the dataset check: its transcript against the tokenizer and the trainer's
 * limits, its audio (length, silence, level, clipping, DC offset, edges) and whether the two
 * match. Thresholds: docs/finetune.md ("Dataset check").
 */
import type { AudioStats } from "../dataset/audio.ts";
import type { Finding } from "../dataset/findings.ts";
import type { DatasetEntry } from "../dataset/read.ts";
import type { Tokenizer, TrainerLimits } from "../model.ts";

/** Characters per second of speech outside this band suggest a transcript that is not the clip's [heuristic]. */
export const CPS_BAND = { min: 5, max: 25 };
/** Recommended clip lengths, seconds (AllTalk v2's segmenter defaults; one or two sentences). */
export const RECOMMENDED_CLIP = { min: 2, max: 11 };
/** AllTalk's "max audio length" default (max_wav_length 242550 samples); coqui's is 11.61 s. */
export const ALLTALK_MAX_CLIP = 11;

/** What the clip rules are measured against. */
export interface ClipRules {
  limits: TrainerLimits;
  /** The trainer's clip cap, seconds. */
  cap: number;
  language: string;
  tokenizer: Tokenizer;
}

function sentenceCount(text: string): number {
  return (text.trim().match(/[.!?。！？]+(?=\s|$)/g) ?? []).length || 1;
}

/**
 * Findings for one clip, in the order the check reports them: its transcript (`text`, trimmed;
 * `tokens`, its count), then its audio when it was decoded (`s`).
 */
export function clipFindings(e: DatasetEntry, text: string, tokens: number, s: AudioStats | undefined, rules: ClipRules): Finding[] {
  const { limits, cap, language, tokenizer } = rules;
  const findings: Finding[] = [];
  const add = (severity: Finding["severity"], code: string, message: string, fix: string) => findings.push({ severity, code, clip: e.clip, message, fix });
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
        add("warning", "dc-offset", `${e.clip}: DC offset ${(s.dcOffset * 100).toFixed(1)} % of full scale`, "high-pass filter it (ffmpeg -af highpass=f=40)");
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
  return findings;
}
