/**
 * The dataset-wide rules of the dataset check: duplicates, audio formats, speakers, the eval
 * split and the total duration. Thresholds: docs/finetune.md ("Dataset check").
 */
import type { Finding } from "../dataset/findings.ts";
import type { DatasetListing } from "../dataset/read.ts";
import type { TrainerLimits } from "../model.ts";
import type { ClipReport, ClipTotals } from "./report.ts";

/** Target total duration, seconds. */
export const TARGET_TOTAL = { min: 180, max: 600 };

/**
 * Findings about the dataset as a whole, in the order the check reports them. `hashes[i]` is
 * the audio hash of `clips[i]` (absent when it was not decoded); `totals` are the clips' (clipTotals).
 */
export function datasetFindings(
  listing: DatasetListing,
  clips: ClipReport[],
  hashes: (string | undefined)[],
  totals: Pick<ClipTotals, "clips" | "evalClips" | "seconds">,
  limits: TrainerLimits,
): Finding[] {
  const findings: Finding[] = [];
  const byHash = new Map<string, string[]>();
  const byText = new Map<string, string[]>();
  clips.forEach((c, i) => {
    const h = hashes[i];
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

  const { evalClips, seconds } = totals;
  if (listing.entries.length) {
    if (!listing.hasEvalSplit)
      findings.push({
        severity: "warning",
        code: "eval-split-missing",
        message: `no eval split (${listing.format} format)`,
        fix: "AllTalk needs metadata_eval.csv (10-30 % of the clips): chorus finetune prepare writes one",
      });
    else {
      const share = evalClips / totals.clips;
      if (evalClips === 0)
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
          message: `eval split is ${(share * 100).toFixed(0)} % (${evalClips} of ${totals.clips} clips), outside 10-30 %`,
          fix: "move clips between metadata_train.csv and metadata_eval.csv (AllTalk v2 clamps the split to 10-30 %)",
        });
      if (evalClips > 0 && evalClips < 10)
        findings.push({
          severity: "info",
          code: "eval-split-small",
          message: `${evalClips} eval clip(s); 10 or more are recommended`,
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
  return findings;
}
