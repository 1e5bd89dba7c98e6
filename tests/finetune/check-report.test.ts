/** The check's clip totals, computed once (check/report.ts) for the dataset rules, the report's totals and its summary; its histogram's notes. */
import { expect, it } from "vitest";
import { clipTotals, type CheckReport, type ClipReport } from "../../core/finetune/check/report.ts";
import { histogramText } from "../../core/finetune/report.ts";

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

it("the histogram calls a bin's clips dropped only when the check drops them, naming the findings", () => {
  // 0.3 s: under the trainer's 0.5 s, dropped; 0.6 s: kept (same 0-1 s bin);
  // 11.3 s: kept, under the 11.61 s maximum; 11.8 s: over it, dropped (same 11-12 s bin).
  const clips = [clip("train", 0.3, false), clip("train", 0.6, true), clip("train", 3, true), clip("train", 11.3, true), clip("train", 11.8, false)];
  const error = (c: ClipReport, code: string) => ({ severity: "error" as const, code, clip: c.clip, message: code, fix: "-" });
  const report = {
    maxClipSeconds: 11.61,
    clips,
    findings: [error(clips[0]!, "clip-too-short"), error(clips[4]!, "clip-too-long")],
  } as unknown as CheckReport;
  const lines = histogramText(report, 4).split("\n");
  expect(lines[1]).toBe("  0-1   s |####| 2 (1 dropped: clip-too-short; outside 2-11 s)");
  expect(lines[4]).toBe("  3-4   s |##  | 1");
  expect(lines[12]).toBe(" 11-12  s |####| 2 (1 dropped: clip-too-long; outside 2-11 s)");
  // a bin of kept short clips only is not "dropped"
  const kept = { ...report, clips: [clip("train", 0.6, true)], findings: [] } as unknown as CheckReport;
  expect(histogramText(kept, 4).split("\n")[1]).toBe("  0-1   s |####| 1 (outside 2-11 s)");
});
