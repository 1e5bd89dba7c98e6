/**
 * Out-of-memory recovery: the next settings after the trainer ran out of memory.
 *   1. Batch > 1: half the batch (the largest divisor of the effective batch at or under half),
 *      the accumulation that keeps the effective batch; the learning rate stays (it is set for
 *      the effective batch).
 *   2. Batch 1: a shorter clip cap (the next of 10, 8, 6 s below the longest clip trained on,
 *      never under the minimum), saying how many clips and minutes that drops.
 *   3. Batch 1 at the minimum cap: give up, saying what would fit.
 */
import type { MessageOf } from "./protocol.ts";

export interface RunSettings {
  batchSize: number;
  gradAccumSteps: number;
  maxClipSeconds: number;
  learningRate: number;
}

export interface ClipLength {
  seconds: number;
  split: "train" | "eval";
}

export interface Replan {
  kind: "batch" | "clip-cap";
  from: RunSettings;
  to: RunSettings;
  observedPeakMb: number;
  failedAllocationMb: number | null;
  /** Clips (training split) the new cap drops, in all, and their minutes. */
  clipsDropped: number;
  minutesDropped: number;
  clipsLeft: number;
  message: string;
}

export const CLIP_CAP_STEPS = [10, 8, 6];

const round1 = (n: number) => Math.round(n * 10) / 10;

export function effectiveBatch(s: RunSettings): number {
  return s.batchSize * s.gradAccumSteps;
}

/** The trainer's clip cap applied to the trainer's own settings (GPTArgs/GPTTrainerConfig/TrainerArgs). */
export function applySettings(trainerConfig: Record<string, Record<string, unknown>>, s: RunSettings): Record<string, Record<string, unknown>> {
  return {
    ...trainerConfig,
    GPTArgs: { ...trainerConfig.GPTArgs, max_wav_length: Math.round(s.maxClipSeconds * 22050) },
    GPTTrainerConfig: { ...trainerConfig.GPTTrainerConfig, batch_size: s.batchSize, eval_batch_size: s.batchSize, lr: s.learningRate },
    TrainerArgs: { ...trainerConfig.TrainerArgs, grad_accum_steps: s.gradAccumSteps },
  };
}

export function keptClips(clips: ClipLength[], cap: number, minSeconds = 0.5): ClipLength[] {
  return clips.filter((c) => c.split === "train" && c.seconds >= minSeconds && c.seconds <= cap);
}

export function replanAfterOom(
  current: RunSettings,
  oom: MessageOf<"oom">,
  clips: ClipLength[],
  options: { minClipSeconds: number },
): { ok: true; replan: Replan } | { ok: false; message: string } {
  const peak = Math.max(oom.peakAllocatedMb + (oom.failedAllocationMb ?? 0), oom.peakReservedMb);
  const card = oom.totalMb ? ` on a ${Math.round(oom.totalMb)} MB card` : "";
  const base = { from: current, observedPeakMb: Math.round(peak), failedAllocationMb: oom.failedAllocationMb };
  const eff = effectiveBatch(current);
  if (current.batchSize > 1) {
    let b = Math.floor(current.batchSize / 2);
    while (b > 1 && eff % b !== 0) b--;
    const to = { ...current, batchSize: b, gradAccumSteps: eff / b };
    const left = keptClips(clips, current.maxClipSeconds).length;
    return {
      ok: true,
      replan: {
        ...base,
        kind: "batch",
        to,
        clipsDropped: 0,
        minutesDropped: 0,
        clipsLeft: left,
        message: `out of memory at batch ${current.batchSize} x accumulation ${current.gradAccumSteps} (needed about ${Math.round(peak)} MB${card}); re-planned to batch ${b} x accumulation ${to.gradAccumSteps}: effective batch ${eff} and learning rate ${current.learningRate} unchanged`,
      },
    };
  }
  const trained = keptClips(clips, current.maxClipSeconds);
  const longest = trained.reduce((m, c) => Math.max(m, c.seconds), 0);
  const nextCap = CLIP_CAP_STEPS.find((c) => c < Math.min(longest, current.maxClipSeconds) && c >= options.minClipSeconds);
  if (nextCap === undefined) {
    const fixedMb = Math.round(peak);
    return {
      ok: false,
      message:
        `out of memory at batch 1 with clips up to ${round1(Math.min(longest, current.maxClipSeconds))} s (the minimum cap is ${options.minClipSeconds} s): about ${fixedMb} MB was needed${card}. ` +
        `What would fit: a card (or free memory) of at least ${Math.ceil((fixedMb * 1.1) / 1024)} GB, freeing memory other processes hold, fused AdamW or SGD (chorus finetune plan lists them), or zero-shot cloning with a 6-30 s reference clip instead of fine-tuning`,
    };
  }
  const kept = keptClips(clips, nextCap);
  const allTrain = clips.filter((c) => c.split === "train");
  const minutes = (list: ClipLength[]) => list.reduce((a, c) => a + c.seconds, 0) / 60;
  const dropped = allTrain.length - kept.length;
  const minutesDropped = round1(minutes(allTrain) - minutes(kept));
  if (!kept.length) return { ok: false, message: `out of memory at batch 1; a ${nextCap} s clip cap would leave no training clip` };
  const to = { ...current, maxClipSeconds: nextCap };
  return {
    ok: true,
    replan: {
      ...base,
      kind: "clip-cap",
      to,
      clipsDropped: dropped,
      minutesDropped,
      clipsLeft: kept.length,
      message: `out of memory at batch 1 with clips up to ${round1(longest)} s (needed about ${Math.round(peak)} MB${card}); clip cap lowered to ${nextCap} s: ${dropped} training clip(s) (${minutesDropped} min) are dropped, ${kept.length} remain (${round1(minutes(kept))} min); accumulation ${current.gradAccumSteps} keeps effective batch ${eff}`,
    },
  };
}
