/**
 * What the planner says when it has no plan (plan.ts): why, and what would change that: for a
 * dataset the trainer would keep no clip of, and for a card too small for even the smallest
 * settings.
 */
import { CUDA_CONTEXT_MB, estimate, type EstimateInput } from "./vram.ts";
import type { PlanInput } from "./plan-input.ts";

export const round1 = (n: number) => Math.round(n * 10) / 10;

/** No training clip the trainer would keep (too long, too short, too many tokens, none in the split): no card helps. */
export function untrainableAdvice(p: PlanInput, defaultCap: number, warnings: string[], alternatives: string[]): void {
  const { model } = p;
  const train = p.clips.filter((c) => c.split === "train");
  const over = train.filter((c) => c.seconds > defaultCap).length;
  const under = train.filter((c) => c.seconds < model.limits.minClipSeconds).length;
  const wordy = train.filter((c) => c.seconds >= model.limits.minClipSeconds && c.seconds <= defaultCap && c.tokens > model.limits.maxTextTokens).length;
  warnings.push(
    train.length
      ? `no training clip the trainer would keep: of ${train.length}, ${over} are longer than ${round1(defaultCap)} s, ${under} shorter than ${model.limits.minClipSeconds} s, ${wordy} over ${model.limits.maxTextTokens} text tokens`
      : `no training clips (${p.clips.length} clip(s), none in the training split)`,
  );
  if (over)
    alternatives.push(
      `cut the long recordings into clips of 2-11 s, one or two sentences each (chorus finetune prepare)${defaultCap < model.limits.hardMaxClipSeconds ? `, or raise the clip cap (--max-clip-seconds, up to ${round1(model.limits.hardMaxClipSeconds)} s; long clips cost memory)` : ""}`,
    );
  if (wordy) alternatives.push(`split clips whose transcript is over ${model.limits.maxTextTokens} tokens into shorter ones`);
  if (!train.length) alternatives.push("put clips in the training split (metadata_train.csv)");
  alternatives.push(`at least ${Math.round(model.limits.minTotalSeconds / 60)} minutes of audio in clips the trainer keeps`);
}

/** The card cannot hold even batch 1 with fused AdamW: the need, and each way to meet it. */
export function unfittedAdvice(
  p: PlanInput,
  input: EstimateInput,
  { freeMb, cappedMb, budgetMb, safetyMb }: { freeMb: number; cappedMb: number; budgetMb: number; safetyMb: number },
  warnings: string[],
  alternatives: string[],
): void {
  const { model } = p;
  const floor = estimate(model, { ...input, gradAccumSteps: 1, fused: true });
  const need = Math.ceil(floor.deviceMb + safetyMb);
  warnings.push(
    `full fp32 fine-tuning does not fit: even batch 1 with fused AdamW needs about ${need} MB free and this card has ${Math.round(freeMb)} MB free (${p.gpu.totalMb} MB total)`,
  );
  // under the trainer's cap the card's total must also carry the need: fraction x total + context >= need
  const capped = p.memoryFraction && p.memoryFraction < 1 ? p.memoryFraction : undefined;
  const totalNeed = capped ? Math.ceil((need - CUDA_CONTEXT_MB) / capped) : 0;
  const example = need < 12288 && totalNeed <= 12288 ? ` (for example 12 GB with under ${12288 - need} MB held by others, or 16 GB)` : "";
  alternatives.push(
    `a card with at least ${need} MB free${capped ? ` and ${totalNeed} MB in total (the trainer reserves at most ${Math.round(capped * 100)} % of it)` : ""}${example}`,
  );
  if (p.gpu.othersMb > 0 && p.gpu.totalMb - p.gpu.chorusMb >= need && Math.min(p.gpu.totalMb - p.gpu.chorusMb, cappedMb) >= need)
    alternatives.push(`free the ${Math.round(p.gpu.othersMb)} MB other processes hold (desktop, an LLM, an inference server): then it fits`);
  if (capped && freeMb >= need)
    alternatives.push(
      `raise finetune.runner.memoryFraction (now ${capped}; 1 = no cap${p.os === "windows" ? ": the driver may then spill into system RAM, slowly" : ""}): then it fits`,
    );
  const sgd = estimate(model, { ...input, gradAccumSteps: 1, optimizer: "sgd", fused: true });
  if (sgd.deviceMb <= budgetMb)
    alternatives.push(
      `SGD with momentum, fused (one state per parameter; AllTalk v2 offers SGD): predicted ${Math.round(sgd.deviceMb)} MB, fits; its fine-tuning quality for XTTS is not established`,
    );
  if (p.os === "windows")
    alternatives.push(
      "Windows: with the NVIDIA driver's system-memory fallback on (the default), training will run, slowly, spilling into system RAM (AllTalk relies on this; have 24 GB+ of system RAM)",
    );
  alternatives.push("zero-shot cloning: use a 6-30 s reference clip with the base model instead of fine-tuning");
}
