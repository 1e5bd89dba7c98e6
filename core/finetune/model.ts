/**
 * What the fine-tuning tools need to know about a trainable model, engine-independent. An
 * engine that can be fine-tuned describes itself with a `TrainableModel` (XTTS v2: xtts/model.ts);
 * the dataset check, the VRAM model and the planner only talk to this interface.
 */

import type { EnvSpec } from "../python/environment.ts";

/** Numeric precision of the training forward pass. */
export type Precision = "fp32" | "fp16" | "bf16";
/** `eager`: attention maps materialised (L^2 saved per head); `sdpa`: a fused kernel that keeps none. */
export type Attention = "eager" | "sdpa";

/** Optimizers the trainers reach through `getattr(torch.optim, name)`: states kept per parameter. */
export const OPTIMIZERS = {
  adamw: { torchName: "AdamW", states: 2 },
  adam: { torchName: "Adam", states: 2 },
  radam: { torchName: "RAdam", states: 2 },
  sgd: { torchName: "SGD", states: 1 }, // with momentum, as AllTalk v2 sets it
  rmsprop: { torchName: "RMSprop", states: 1 },
  adagrad: { torchName: "Adagrad", states: 1 },
} as const;
export type OptimizerName = keyof typeof OPTIMIZERS;

/** One tensor (or one kind of tensor) autograd keeps from the forward pass until backward. */
export interface SavedTensor {
  what: string;
  /** Elements per unit of `per` (per sample). */
  elements: number;
  /**
   * `position`: once per sequence position of the segment; `square`: per position squared
   * (attention maps); `sample`: once per sample.
   */
  per: "position" | "square" | "sample";
  /** Which positions it scales with (a model with one segment uses `all`). */
  segment: string;
  /**
   * Storage class: `float` is fp32 whatever the precision (normalisation inputs, softmax outputs,
   * ops autocast runs in fp32); `compute` is fp32, or 16-bit under autocast (matmul inputs and
   * outputs); `mask` is 1 byte (dropout masks); `index` is 8 bytes (int64 ids).
   */
  storage: "float" | "compute" | "copy16" | "mask" | "index";
  /** How many times it occurs (e.g. the number of layers). */
  count: number;
  /** Only with this attention implementation (omitted: both). */
  attention?: Attention;
  /** Where the fact comes from (file and what it does), for the docs. */
  source: string;
}

/** One group of parameters, in the order backward produces their gradients. */
export interface ParameterGroup {
  name: string;
  params: number;
  /** Saved tensors freed when backward has passed this group (prefixes of `activations[].what`). */
  frees: string[];
  /** Fraction of the matched tensors this group frees (1/30 for one of 30 identical layers; default 1). */
  share?: number;
  /** Its weights feed matmuls, so autocast keeps 16-bit copies of them until backward passes (default true). */
  matmul?: boolean;
}

/** Segment lengths of one training sample (positions in the transformer's sequence). */
export type Segments = Record<string, number>;

export interface Tokenizer {
  /** `exact` when read from the model's vocabulary; `estimate` when counted by a documented rule. */
  kind: "exact" | "estimate";
  count(text: string, language: string): number;
  /** Characters the vocabulary cannot encode (empty for an estimate). */
  unknownCharacters(text: string, language: string): string[];
}

export interface TrainerLimits {
  /** Samples per second the trainer resamples every clip to. */
  sampleRate: number;
  /** Shorter clips are dropped by the trainer's loader. */
  minClipSeconds: number;
  /** Longer clips are dropped silently (default setting). */
  maxClipSeconds: number;
  /** Upper bound the settings allow for the clip cap (position tables). */
  hardMaxClipSeconds: number;
  /** Texts with more tokens are dropped silently. */
  maxTextTokens: number;
  /** Datasets with less audio are refused. */
  minTotalSeconds: number;
  /** Languages the model trains on. */
  languages: string[];
  /** Per-language character count above which the tokenizer warns. */
  charLimits: Record<string, number>;
}

export interface PlanSettings {
  batchSize: number;
  gradAccumSteps: number;
  maxClipSeconds: number;
  maxTextTokens: number;
  precision: Precision;
  attention: Attention;
  optimizer: OptimizerName;
  /** Fused or for-loop optimizer kernel: no parameter-sized temporary at the step. */
  fused: boolean;
  learningRate: number;
}

/** How the fine-tune runner (core/finetune/runner) trains a model: its worker, environment and files. */
export interface TrainerRuntime {
  /** The worker script, speaking the runner's protocol (docs/finetune.md, "The trainer protocol"). */
  workerScript: string;
  /** The Python environment the worker runs in (core/python; built by `chorus finetune setup`). */
  environment: EnvSpec;
  /** Files the base model folder must hold. */
  baseModelFiles: string[];
  /** Files copied from the base model into the result folder (the worker writes the trained weights). */
  copiedFiles: string[];
  /** Where the base model comes from (for messages). */
  baseModelHint: string;
}

export interface TrainableModel {
  id: string;
  name: string;
  limits: TrainerLimits;
  /** Parameters the optimizer updates. */
  trainableParams: number;
  /** Parameters (and buffers) resident on the GPU but frozen: no grads, no optimizer state. */
  frozenParams: number;
  /** Backward order of the trainable parameters and the activations each frees. */
  parameterGroups: ParameterGroup[];
  /** Everything autograd saves for one sample (see SavedTensor). */
  activations: SavedTensor[];
  /** Segment lengths for a sample whose longest clip and text are as given. */
  segments(clipSeconds: number, textTokens: number): Segments;
  /** Bytes of the largest transient tensors of backward for one sample (gradient of logits, of one layer's intermediates). */
  backwardTransientBytes(segments: Segments, attention: Attention, bytesPerCompute: number): number;
  /** Tokenizer: from the model folder's vocabulary when there is one, else an estimate. */
  tokenizer(modelDir?: string): Tokenizer;
  /** Trainer configuration (field names of the trainer the model uses) for a plan. */
  trainerConfig(settings: PlanSettings): Record<string, Record<string, unknown>>;
  /** Learning rate the model's trainers use at their reference effective batch, and the rule (docs). */
  learningRate(effectiveBatch: number): { value: number; rule: string };
  /** Absent: the model can be planned for but not trained by Chorus. */
  runtime?: TrainerRuntime;
}
