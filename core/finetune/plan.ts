/**
 * The planner: for a dataset (the clips the trainer would really see) and a card, the settings
 * that fit with a predicted peak, searched in this order (docs/finetune.md):
 *   1. AllTalk/coqui parity (fp32, AdamW foreach), the largest batch <= the effective batch with
 *      the gradient accumulation that keeps it; then batch 1 without accumulation;
 *   2. fused AdamW (no parameter-sized temporary at the step; flagged);
 *   3. a shorter clip cap (10 s, then 8 s; the clips and minutes dropped are reported);
 *   4. mixed precision, only where it buys memory (flagged: not shown stable for XTTS).
 * When nothing fits it says so, with what would.
 */
import type { Attention, OptimizerName, Precision, TrainableModel } from "./model.ts";
import { CUDA_CONTEXT_MB, estimate, type EstimateInput, type Prediction } from "./vram.ts";
import type { GpuInfo } from "./gpu.ts";
import type { CheckReport } from "./check.ts";
import { round1, untrainableAdvice, unfittedAdvice } from "./plan-advice.ts";
import type { PlanClip, PlanInput } from "./plan-input.ts";

export type { PlanClip, PlanInput } from "./plan-input.ts";

/** The system the trainer runs on: this machine's (the server's, for plans made over HTTP). */
export function hostOs(): "linux" | "windows" {
  return process.platform === "win32" ? "windows" : "linux";
}

/** The share of the card the trainer's PyTorch may reserve: finetune.runner.memoryFraction, else 0.95 on Windows (docs/finetune.md). */
export function trainerMemoryFraction(configured: number | undefined, os: "linux" | "windows"): number | null {
  return configured ?? (os === "windows" ? 0.95 : null);
}

/** Kept free on top of the prediction (driver, other processes growing), MB. */
export const SAFETY_MB = 256;

export interface Plan {
  fits: boolean;
  batchSize: number;
  gradAccumSteps: number;
  effectiveBatch: number;
  precision: Precision;
  attention: Attention;
  maxClipSeconds: number;
  maxTextTokens: number;
  learningRate: number;
  learningRateRule: string;
  optimizer: OptimizerName;
  fused: boolean;
  predicted: Prediction;
  budgetMb: number;
  gpu: GpuInfo & { freeMb: number };
  clipsDropped: number;
  minutesTrained: number;
  /** Optimizer updates per epoch: ceil(kept training clips / effective batch). */
  updatesPerEpoch: number;
  warnings: string[];
  alternatives: string[];
  trainerConfig: Record<string, Record<string, unknown>>;
}

interface Candidate {
  input: EstimateInput;
  predicted: Prediction;
  flags: string[];
}

/** The settings shown when nothing fits: plain fp32 at batch 1, with their prediction as estimated. */
function unfitted(model: TrainableModel, input: EstimateInput): Candidate {
  return { input, predicted: estimate(model, input), flags: [] };
}

/** Clips the trainer keeps at a cap (and the tokens limit). */
function kept(model: TrainableModel, clips: PlanClip[], cap: number): PlanClip[] {
  return clips.filter((c) => c.split === "train" && c.seconds >= model.limits.minClipSeconds && c.seconds <= cap && c.tokens <= model.limits.maxTextTokens);
}

/**
 * A prediction scaled by a probe's measured / predicted ratio (runner/probes.ts: PyTorch's
 * counters against the prediction without the CUDA context), so every term but the context is
 * scaled; the terms still add up.
 */
function calibrated(pred: Prediction, ratio: number | undefined): Prediction {
  if (!ratio || ratio === 1) return pred;
  const terms = Object.fromEntries(Object.entries(pred.terms).map(([k, v]) => [k, k === "cudaContext" ? v : v * ratio]));
  const context = pred.terms.cudaContext ?? 0;
  return {
    ...pred,
    allocatedMb: pred.allocatedMb * ratio,
    deviceMb: (pred.deviceMb - context) * ratio + context,
    forwardBackwardMb: pred.forwardBackwardMb * ratio,
    optimizerStepMb: pred.optimizerStepMb * ratio,
    terms,
  };
}

export function plan(p: PlanInput): Plan {
  const { model } = p;
  const maxBatch = Math.max(1, Math.min(p.maxBatch ?? 8, p.effectiveBatch));
  const attention: Attention = p.attention === "auto" ? "eager" : p.attention;
  // others can be reported above the total (a stale reading, a --gpu-used-mb typo): nothing is free, never less
  const freeMb = Math.max(0, p.gpu.totalMb - p.gpu.othersMb - p.gpu.chorusMb);
  // the worker's cap holds PyTorch's reserved memory (the prediction less the CUDA context) under fraction x total
  const cappedMb = p.memoryFraction && p.memoryFraction < 1 ? p.memoryFraction * p.gpu.totalMb + CUDA_CONTEXT_MB : Infinity;
  const budgetMb = Math.max(0, Math.round(Math.min(freeMb, cappedMb) - SAFETY_MB));
  const warnings: string[] = [];
  if (p.probe)
    warnings.push(
      `predictions scaled by ${p.probe.ratio} from a probe on this card (${p.probe.at}: measured ${Math.round(p.probe.peakReservedMb)} MB where ${Math.round(p.probe.predictedMb)} MB was predicted)`,
    );
  if (cappedMb < freeMb)
    warnings.push(
      `the trainer may reserve at most ${Math.round(p.memoryFraction! * 100)} % of the card (finetune.runner.memoryFraction${p.os === "windows" ? ", 0.95 by default on Windows: out of memory instead of a slow spill into system RAM" : ""}): the budget is ${budgetMb} MB, not ${Math.round(freeMb - SAFETY_MB)}`,
    );
  if (p.attention === "auto")
    warnings.push("attention: eager assumed (AllTalk v1's transformers 4.39 stack, the larger of the two); with coqui-tts >= 0.24 (SDPA) the peak is lower");

  const defaultCap = Math.min(p.maxClipSeconds ?? model.limits.maxClipSeconds, model.limits.hardMaxClipSeconds);
  const train = p.clips.filter((c) => c.split === "train" && c.seconds >= model.limits.minClipSeconds && c.seconds <= defaultCap);
  const longest = train.reduce((m, c) => (c.tokens <= model.limits.maxTextTokens ? Math.max(m, c.seconds) : m), 0);
  const cap0 = longest > 0 ? Math.min(defaultCap, Math.ceil(longest * 10) / 10) : defaultCap;
  const caps = [cap0, ...[10, 8].filter((c) => c < cap0)];
  // a loop, not Math.max(...list): a spread of 100k+ clips overflows the call stack
  const tokensAt = (cap: number) => kept(model, p.clips, cap).reduce((m, c) => Math.max(m, c.tokens), 1);
  /** Nothing the trainer would train on: no plan can fit, whatever the card. */
  const trainable = kept(model, p.clips, cap0).length > 0;

  const tryAt = (cap: number, precision: Precision, fused: boolean, flags: string[]): Candidate | undefined => {
    const maxTextTokens = tokensAt(cap);
    const base = { maxClipSeconds: cap, maxTextTokens, precision, attention, optimizer: "adamw" as const, fused };
    const shapes: [number, number][] = [];
    // batch sizes that divide the effective batch, so accumulation keeps it exactly
    for (let b = maxBatch; b >= 1; b--) if (p.effectiveBatch % b === 0) shapes.push([b, p.effectiveBatch / b]);
    if (p.effectiveBatch > 1) shapes.push([1, 1]);
    for (const [batchSize, gradAccumSteps] of shapes) {
      const input = { ...base, batchSize, gradAccumSteps };
      const predicted = calibrated(estimate(model, input), p.probe?.ratio);
      if (predicted.deviceMb <= budgetMb) {
        const extra =
          batchSize * gradAccumSteps < p.effectiveBatch
            ? [
                `effective batch ${batchSize * gradAccumSteps} instead of ${p.effectiveBatch}: gradient accumulation costs a full set of gradients (${Math.round(predicted.terms.weights!)} MB) that does not fit`,
              ]
            : [];
        return { input, predicted, flags: [...flags, ...extra] };
      }
    }
    return undefined;
  };

  let found: Candidate | undefined;
  const fusedFlag =
    "optimizer_params.fused = true: AdamW without the parameter-sized temporary of the default foreach kernel (AllTalk and coqui use the default)";
  for (const cap of trainable ? caps : []) {
    // a shorter cap that would leave the trainer no clip is no plan
    if (!kept(model, p.clips, cap).length) continue;
    const capFlags = cap < cap0 ? [`max clip length lowered to ${cap} s to fit (AllTalk/coqui default ${round1(model.limits.maxClipSeconds)} s)`] : [];
    if (cap > model.limits.maxClipSeconds)
      capFlags.push(
        `max clip length ${cap} s is over coqui's default ${round1(model.limits.maxClipSeconds)} s (max_wav_length): long clips cost memory; cutting them (chorus finetune prepare) is the cheaper fix`,
      );
    found = tryAt(cap, "fp32", false, capFlags) ?? tryAt(cap, "fp32", true, [...capFlags, fusedFlag]);
    if (found) break;
  }
  if (!found && trainable) {
    for (const precision of ["bf16", "fp16"] as const) {
      found = tryAt(cap0, precision, true, [
        fusedFlag,
        `${precision} mixed precision: buys memory here, but nobody has shown ${precision} training of this model to be stable; AllTalk and coqui train in fp32 (bf16 needs an Ampere or newer card)`,
      ]);
      if (found) break;
    }
  }

  const alternatives: string[] = [];
  const fits = found !== undefined;
  const chosen: Candidate =
    found ??
    unfitted(model, {
      batchSize: 1,
      gradAccumSteps: p.effectiveBatch,
      maxClipSeconds: cap0,
      maxTextTokens: tokensAt(cap0),
      precision: "fp32",
      attention,
      optimizer: "adamw",
      fused: false,
    });
  warnings.push(...chosen.flags);
  if (!trainable) untrainableAdvice(p, defaultCap, warnings, alternatives);
  else if (!fits) unfittedAdvice(p, chosen.input, { freeMb, cappedMb, budgetMb, safetyMb: SAFETY_MB }, warnings, alternatives);
  if (p.gpu.chorusMb > 0)
    warnings.push(
      `Chorus's own engines hold ${Math.round(p.gpu.chorusMb)} MB on this card; unloading them (chorus engine unload ID) frees it${fits ? "" : " and may make a larger plan fit"}`,
    );
  if (p.os === "windows" && fits)
    warnings.push("Windows: if the prediction is exceeded, the driver's system-memory fallback spills into RAM (slow) instead of failing");

  const capUsed = chosen.input.maxClipSeconds;
  const keptClips = kept(model, p.clips, capUsed);
  const dropped = p.clips.filter((c) => c.split === "train").length - keptClips.length;
  const droppedMinutes = (p.clips.filter((c) => c.split === "train").reduce((a, c) => a + c.seconds, 0) - keptClips.reduce((a, c) => a + c.seconds, 0)) / 60;
  if (dropped > 0)
    warnings.push(
      `${dropped} training clip(s) (${droppedMinutes.toFixed(1)} min) are longer than ${round1(capUsed)} s, shorter than ${model.limits.minClipSeconds} s or over ${model.limits.maxTextTokens} tokens: the trainer drops them`,
    );
  const effectiveBatch = chosen.input.batchSize * chosen.input.gradAccumSteps;
  if (keptClips.length && Math.ceil(keptClips.length / effectiveBatch) < 10)
    warnings.push(
      `only ${Math.ceil(keptClips.length / effectiveBatch)} optimizer update(s) per epoch (${keptClips.length} clips / effective batch ${effectiveBatch}): plan more epochs or add data`,
    );
  const lr = model.learningRate(effectiveBatch);
  const settings = { ...chosen.input, learningRate: lr.value };
  return {
    fits,
    batchSize: chosen.input.batchSize,
    gradAccumSteps: chosen.input.gradAccumSteps,
    effectiveBatch,
    precision: chosen.input.precision,
    attention,
    maxClipSeconds: round1(capUsed),
    maxTextTokens: chosen.input.maxTextTokens,
    learningRate: lr.value,
    learningRateRule: lr.rule,
    optimizer: chosen.input.optimizer,
    fused: chosen.input.fused,
    predicted: chosen.predicted,
    budgetMb,
    gpu: { ...p.gpu, freeMb: Math.round(freeMb) },
    clipsDropped: dropped,
    minutesTrained: round1(keptClips.reduce((a, c) => a + c.seconds, 0) / 60),
    updatesPerEpoch: Math.ceil(keptClips.length / effectiveBatch),
    warnings,
    alternatives,
    trainerConfig: model.trainerConfig(settings),
  };
}

/** The plan for a checked dataset: only clips without errors count (the trainer drops the rest). */
export function planFromReport(report: CheckReport, model: TrainableModel, o: Omit<PlanInput, "model" | "clips">) {
  const clips = report.clips.filter((c) => c.kept && c.seconds !== undefined).map((c) => ({ seconds: c.seconds!, tokens: c.tokens, split: c.split }));
  // Clips the check rejected as too long are still what the trainer would drop: count them.
  const tooLong = report.clips
    .filter((c) => !c.kept && c.split === "train" && c.seconds !== undefined && c.seconds > report.maxClipSeconds)
    .map((c) => ({ seconds: c.seconds!, tokens: c.tokens, split: c.split }));
  return {
    ...plan({ model, clips: [...clips, ...tooLong], maxClipSeconds: report.maxClipSeconds, ...o }),
    dataset: { dir: report.dir, errors: report.totals.errors, summary: report.summary },
  };
}
