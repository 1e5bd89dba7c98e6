/** The check's clip totals, computed once (check/report.ts) for the dataset rules, the report's totals and its summary. */
import { expect, it } from "vitest";
import { clipTotals, type ClipReport } from "../../core/finetune/check/report.ts";

const clip = (split: ClipReport["split"], seconds: number | undefined, kept: boolean): ClipReport => ({
  clip: `c${seconds}`,
  split,
  text: "Hello.",
  seconds,
  speechSeconds: seconds,
  tokens: 3,
  characters: 6,
  sourceRate: 22050,
  sourceChannels: 1,
  kept,
});

it("counts clips per split, every clip's seconds, and the minutes kept for training out of all training minutes", () => {
  const totals = clipTotals([
    clip("train", 60, true),
    clip("train", 30, false),
    clip("train", undefined, false),
    clip("eval", 12, true),
    clip("train", 90, true),
  ]);
  expect(totals).toEqual({ clips: 5, seconds: 192, trainClips: 4, evalClips: 1, keptTrainClips: 2, minutesTrained: 2.5, trainMinutes: 3 });
  expect(clipTotals([])).toEqual({ clips: 0, seconds: 0, trainClips: 0, evalClips: 0, keptTrainClips: 0, minutesTrained: 0, trainMinutes: 0 });
});
