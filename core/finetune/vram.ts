/**
 * The peak-memory model of one fine-tuning step, from first principles (docs/finetune.md):
 * weights W, gradients G, optimizer states S, the optimizer's temporary T, frozen modules F,
 * the tensors autograd saves A (from the model's own list, by architecture and sequence
 * length), autocast's 16-bit weight copies, the largest backward temporaries, then the caching
 * allocator's slack and the CUDA context for what nvidia-smi shows.
 *
 *   forward/backward peak, accum = 1: W + S + F + max over the backward sweep of (A alive + G made) + transient
 *   forward/backward peak, accum > 1: W + S + F + G + A + transient   (grads persist across micro-batches)
 *   optimizer-step peak:              W + G + S + T + F
 *   allocated = max of the two;  device (nvidia-smi) = allocated x (1 + slack) + context
 */
import type { Attention, PlanSettings, Precision, SavedTensor, Segments, TrainableModel } from "./model.ts";
import { OPTIMIZERS } from "./model.ts";

export const MB = 1048576; // MiB, the unit nvidia-smi calls "MB"

/** Caching-allocator slack over allocated bytes [assumption: 5-25 % is seen in practice; docs]. */
export const ALLOCATOR_SLACK = 0.07;
/** CUDA context, cuBLAS and cuDNN workspaces: not in PyTorch's counters, shown by nvidia-smi (0.4-0.6 GiB). */
export const CUDA_CONTEXT_MB = 512;
/**
 * Backward's working memory is never taken below the reference model's allowance (docs/finetune.md):
 * 0.15 GiB + 3 % of the activations (several temporaries coexist: the gradient flowing back,
 * attention-score and MLP gradients, the logits' gradient), and, with accumulation 1, 15 % of the
 * gradients already made while the activations are at their peak. Without these floors the
 * planner fitted settings 2-4 % under the reference, e.g. AllTalk's batch 4 with 11.6 s clips on
 * a 16 GB card that the reference puts over it.
 */
export const BACKWARD_FLOOR = { fixedMb: 153.6, activationShare: 0.03, gradientShare: 0.15 } as const;

/** What the estimate depends on: a plan's settings without its learning rate. */
export type EstimateInput = Omit<PlanSettings, "learningRate">;

export interface Prediction {
  allocatedMb: number;
  deviceMb: number;
  /** Which phase sets the peak. */
  peak: "forward/backward" | "optimizer step";
  forwardBackwardMb: number;
  optimizerStepMb: number;
  /** The terms at the peak, MB; they add up to deviceMb. */
  terms: Record<string, number>;
  sequenceLength: number;
  activationPerSampleMb: number;
}

function bytesOf(storage: SavedTensor["storage"], precision: Precision): number {
  const amp = precision !== "fp32";
  switch (storage) {
    case "float":
      return 4;
    case "compute":
      return amp ? 2 : 4;
    case "copy16":
      return amp ? 2 : 0;
    case "mask":
      return 1;
    case "index":
      return 8;
  }
}

/** Bytes one saved tensor (all its occurrences) takes for one sample. */
export function savedBytes(t: SavedTensor, seg: Segments, precision: Precision, attention: Attention): number {
  if (t.attention && t.attention !== attention) return 0;
  const n = seg[t.segment] ?? 0;
  const units = t.per === "sample" ? 1 : t.per === "position" ? n : n * n;
  return t.elements * units * t.count * bytesOf(t.storage, precision);
}

/** Activation bytes for one sample, in total and by tensor. */
export function activationBytes(
  model: TrainableModel,
  seg: Segments,
  precision: Precision,
  attention: Attention,
): { total: number; byTensor: Map<string, number> } {
  const byTensor = new Map<string, number>();
  let total = 0;
  for (const t of model.activations) {
    const b = savedBytes(t, seg, precision, attention);
    byTensor.set(t.what, b);
    total += b;
  }
  return { total, byTensor };
}

/** Peak of (activations alive + gradients made) as backward walks the groups; the point where it peaks. */
function backwardSweep(model: TrainableModel, byTensor: Map<string, number>, batch: number, copyBytes: number) {
  const freed = (prefixes: string[], share: number) => {
    let b = 0;
    for (const [what, bytes] of byTensor) if (prefixes.some((p) => what.startsWith(p))) b += bytes * share;
    return b * batch;
  };
  let acts = [...byTensor.values()].reduce((a, b) => a + b, 0) * batch;
  let copies = model.parameterGroups.reduce((a, g) => a + (g.matmul === false ? 0 : g.params * copyBytes), 0);
  let grads = 0;
  let best = { total: acts + copies, acts, copies, grads };
  for (const g of model.parameterGroups) {
    grads += g.params * 4; // fp32 gradients, allocated as backward reaches the group
    const total = acts + copies + grads;
    if (total > best.total) best = { total, acts, copies, grads };
    acts -= freed(g.frees, g.share ?? 1);
    copies -= g.matmul === false ? 0 : g.params * copyBytes;
  }
  return best;
}

export function estimate(model: TrainableModel, input: EstimateInput): Prediction {
  const seg = model.segments(input.maxClipSeconds, input.maxTextTokens);
  const amp = input.precision !== "fp32";
  const copyBytes = amp ? 2 : 0;
  const W = model.trainableParams * 4; // fp32 master weights, under autocast too
  const G = W;
  const S = OPTIMIZERS[input.optimizer].states * W;
  const T = input.fused ? 0 : W; // foreach: one parameter-sized temporary (e.g. AdamW's exp_avg_sq.sqrt())
  const F = model.frozenParams * 4;
  const { byTensor } = activationBytes(model, seg, input.precision, input.attention);
  const perSample = [...byTensor.values()].reduce((a, b) => a + b, 0);
  const B = input.batchSize;
  const transient = Math.max(
    B * model.backwardTransientBytes(seg, input.attention, amp ? 2 : 4),
    BACKWARD_FLOOR.fixedMb * MB + BACKWARD_FLOOR.activationShare * B * perSample,
  );

  const allCopies = model.parameterGroups.reduce((a, g) => a + (g.matmul === false ? 0 : g.params * copyBytes), 0);
  let fb: { acts: number; copies: number; grads: number };
  if (input.gradAccumSteps > 1) {
    fb = { acts: B * perSample, copies: allCopies, grads: G };
  } else {
    const sweep = backwardSweep(model, byTensor, B, copyBytes);
    const floor = { acts: B * perSample, copies: allCopies, grads: BACKWARD_FLOOR.gradientShare * G };
    fb = sweep.acts + sweep.copies + sweep.grads >= floor.acts + floor.copies + floor.grads ? sweep : floor;
  }
  const fbTotal = W + S + F + fb.acts + fb.copies + fb.grads + transient;
  const optTotal = W + G + S + T + F;
  const fbPeak = fbTotal >= optTotal;
  const allocated = Math.max(fbTotal, optTotal);
  const mb = (b: number) => Math.round((b / MB) * 10) / 10;
  const terms: Record<string, number> = fbPeak
    ? {
        weights: mb(W),
        gradients: mb(fb.grads),
        optimizerStates: mb(S),
        optimizerTemporary: 0,
        frozenModules: mb(F),
        activations: mb(fb.acts),
        autocastWeightCopies: mb(fb.copies),
        backwardTransient: mb(transient),
      }
    : {
        weights: mb(W),
        gradients: mb(G),
        optimizerStates: mb(S),
        optimizerTemporary: mb(T),
        frozenModules: mb(F),
        activations: 0,
        autocastWeightCopies: 0,
        backwardTransient: 0,
      };
  const allocatedMb = Object.values(terms).reduce((a, b) => a + b, 0);
  terms.allocatorSlack = mb(allocated * ALLOCATOR_SLACK);
  terms.cudaContext = CUDA_CONTEXT_MB;
  return {
    allocatedMb: Math.round(allocatedMb * 10) / 10,
    deviceMb: Math.round((allocatedMb + terms.allocatorSlack + CUDA_CONTEXT_MB) * 10) / 10,
    peak: fbPeak ? "forward/backward" : "optimizer step",
    forwardBackwardMb: mb(fbTotal),
    optimizerStepMb: mb(optTotal),
    terms,
    sequenceLength: seg.all ?? 0,
    activationPerSampleMb: mb(perSample),
  };
}
