/**
 * XTTS v2's GPT as coqui's GPTTrainer fine-tunes it (AllTalk v1/v2, coqui's recipe and demo):
 * architecture numbers, what is trained and what is frozen, the tensors autograd saves, the
 * trainer's limits and config field names. Sources: coqui-ai-TTS `TTS/tts/layers/xtts/gpt.py`,
 * `trainer/gpt_trainer.py`, `trainer/dataset.py`, `layers/tortoise/arch_utils.py`,
 * `layers/xtts/perceiver_encoder.py`, transformers' GPT-2 (docs/finetune.md has the details).
 */
import { xttsV2Runtime } from "./xtts-v2-runtime.ts";
import type { Attention, ParameterGroup, PlanSettings, SavedTensor, Segments, TrainableModel } from "../model.ts";
import { OPTIMIZERS } from "../model.ts";
import { xttsTokenizer } from "./xtts-tokenizer.ts";

/** XttsArgs defaults and the v2 config.json (gpt_number_text_tokens 6681, gpt_num_audio_tokens 1026). */
export const XTTS_V2_ARCH = {
  layers: 30,
  width: 1024,
  heads: 16,
  ffnMult: 4,
  textVocab: 6681,
  audioVocab: 1026,
  textPositions: 402 + 2,
  audioPositions: 605 + 3,
  /** Perceiver latents prepended to every sequence. */
  condLatents: 32,
  /** Conditioning audio is padded to max_conditioning_length = 132300 samples: 132300/256 + 1 mel frames. */
  condFrames: Math.floor(132300 / 256) + 1,
  melChannels: 80,
  condBlocks: 6,
  condHeads: 16,
  perceiverDepth: 2,
  perceiverHeads: 8,
  perceiverDimHead: 64,
  /** GEGLU inner width: int(dim * 4 * 2 / 3). */
  perceiverFfInner: Math.floor((1024 * 4 * 2) / 3),
  /** DVAE: one code per 1024 samples at 22.05 kHz. */
  codeStride: 1024,
  sampleRate: 22050,
} as const;

const A = XTTS_V2_ARCH;
const h = A.width;

/** Parameter counts from the architecture (docs/finetune.md; the total is checked in the tests). */
export const XTTS_V2_PARAMS = {
  gptLayer: 12 * h * h + 13 * h,
  lnF: 2 * h,
  condEncoder: A.melChannels * h + h + A.condBlocks * (2 * h + (h * 3 * h + 3 * h) + (h * h + h)),
  perceiver:
    A.condLatents * h +
    A.perceiverDepth *
      (h * A.perceiverHeads * A.perceiverDimHead * 2 +
        h * 2 * A.perceiverHeads * A.perceiverDimHead +
        (h * 2 * A.perceiverFfInner + 2 * A.perceiverFfInner) +
        (A.perceiverFfInner * h + h)) +
    h,
  heads: h * A.textVocab + A.textVocab + h * A.audioVocab + A.audioVocab + 2 * h,
  embeddings: A.textVocab * h + A.audioVocab * h + A.audioPositions * h + A.textPositions * h,
  /** DVAE 51,567,184 (+1.15 M buffers), HiFi-GAN 17,827,808, speaker encoder 8,028,492: resident, frozen. */
  frozen: 51_567_184 + 1_150_000 + 17_827_808 + 8_028_492,
};
const P = XTTS_V2_PARAMS;
export const XTTS_V2_TRAINABLE = A.layers * P.gptLayer + P.lnF + P.condEncoder + P.perceiver + P.heads + P.embeddings;

const SRC_GPT2 = "transformers GPT2Block (LayerNorm, Conv1D addmm, eager attention, gelu_new, dropout 0.1)";
const SRC_COND = "tortoise arch_utils AttentionBlock x6 over 517 conditioning frames (GroupNorm32, QKVAttentionLegacy)";
const SRC_PERC = "xtts perceiver_encoder PerceiverResampler (2 layers, 32 latents, 8x64 heads, GEGLU)";
const SRC_HEAD = "xtts gpt.py get_logits + cross_entropy (log_softmax output kept)";

const Tc = A.condFrames;
const ctx = A.condLatents + Tc; // the perceiver attends over latents + context
const inner = A.perceiverHeads * A.perceiverDimHead;
const ff = A.perceiverFfInner;

function layer(what: string, elements: number, storage: SavedTensor["storage"], per: SavedTensor["per"] = "position", attention?: Attention): SavedTensor {
  return { what: `layer.${what}`, elements, per, segment: "all", storage, count: A.layers, attention, source: SRC_GPT2 };
}
function cond(what: string, elements: number, storage: SavedTensor["storage"], count: number = A.condBlocks): SavedTensor {
  return { what: `cond.${what}`, elements, per: "sample", segment: "all", storage, count, source: SRC_COND };
}
function perc(what: string, elements: number, storage: SavedTensor["storage"], count: number = A.perceiverDepth): SavedTensor {
  return { what: `perceiver.${what}`, elements, per: "sample", segment: "all", storage, count, source: SRC_PERC };
}
function head(what: string, elements: number, segment: string, storage: SavedTensor["storage"]): SavedTensor {
  return { what: `head.${what}`, elements, per: "position", segment, storage, count: 1, source: SRC_HEAD };
}

/** Every tensor autograd keeps for one training sample (views are counted once, by storage). */
export const XTTS_V2_ACTIVATIONS: SavedTensor[] = [
  layer("ln_1.input", h, "float"),
  layer("ln_1.mean_rstd", 2, "float"),
  layer("c_attn.input", h, "compute"),
  layer("qkv (q, k, v are views of it)", 3 * h, "compute"),
  layer("c_proj.input (attention output)", h, "compute"),
  layer("resid_dropout.mask", h, "mask"),
  layer("ln_2.input", h, "float"),
  layer("ln_2.mean_rstd", 2, "float"),
  layer("mlp.c_fc.input", h, "compute"),
  layer("gelu_new: pow input (c_fc output)", 4 * h, "float"),
  layer("gelu_new: tanh output", 4 * h, "float"),
  layer("gelu_new: 0.5*x", 4 * h, "compute"),
  layer("gelu_new: 1+tanh", 4 * h, "float"),
  layer("mlp.c_proj.input (gelu output)", 4 * h, "compute"),
  layer("mlp.dropout.mask", h, "mask"),
  layer("attn.softmax output", A.heads, "float", "square", "eager"),
  layer("attn_dropout.mask", A.heads, "mask", "square", "eager"),
  layer("attn_dropout output (matmul input)", A.heads, "compute", "square", "eager"),
  layer("sdpa logsumexp", A.heads, "float", "position", "sdpa"),
  { what: "gpt.drop.mask (embeddings)", elements: h, per: "position", segment: "all", storage: "mask", count: 1, source: SRC_GPT2 },
  { what: "gpt.ln_f.input", elements: h + 2, per: "position", segment: "all", storage: "float", count: 1, source: SRC_GPT2 },
  head("final_norm.input (a slice of ln_f's output keeps all of it)", h + 2, "all", "float"),
  head("text_head/mel_head input", h, "outputs", "compute"),
  head("text log_softmax", A.textVocab, "text", "float"),
  head("mel log_softmax", A.audioVocab, "audio", "float"),
  head("token ids, targets, position ids", 3, "outputs", "index"),
  cond("init conv input (mel)", A.melChannels * Tc, "compute", 1),
  cond("GroupNorm input", h * Tc + 2 * 32, "float"),
  cond("qkv conv input", h * Tc, "compute"),
  cond("qkv (v is a view of it)", 3 * h * Tc, "compute"),
  cond("q*scale, k*scale", 2 * h * Tc, "compute"),
  cond("softmax output", A.condHeads * Tc * Tc, "float"),
  cond("softmax output cast for einsum (autocast only)", A.condHeads * Tc * Tc, "copy16"),
  cond("proj_out input", h * Tc, "compute"),
  perc("to_q input (latents)", A.condLatents * h, "compute"),
  perc("to_kv input (latents + context)", ctx * h, "compute"),
  perc("k, v (to_kv output)", ctx * 2 * inner, "compute"),
  perc("q, k, v reshaped for bmm", A.condLatents * inner + 2 * ctx * inner, "compute"),
  perc("softmax output", A.perceiverHeads * A.condLatents * ctx, "float"),
  perc("to_out input", A.condLatents * inner, "compute"),
  perc("ff: linear inputs, GEGLU halves, gelu output", A.condLatents * (h + 2 * ff + ff + ff), "compute"),
  perc("final RMSNorm", 2 * A.condLatents * h, "float", 1),
];

/** Backward order (heads first, conditioning encoder last) and what each group's pass frees. */
export const XTTS_V2_GROUPS: ParameterGroup[] = [
  { name: "heads, final_norm, ln_f", params: P.heads + P.lnF, frees: ["head.", "gpt.ln_f"] },
  ...Array.from({ length: A.layers }, (_, i) => ({ name: `gpt layer ${A.layers - i}`, params: P.gptLayer, frees: ["layer."], share: 1 / A.layers })),
  { name: "embeddings", params: P.embeddings, frees: ["gpt.drop"], matmul: false },
  { name: "perceiver", params: P.perceiver, frees: ["perceiver."] },
  { name: "conditioning encoder", params: P.condEncoder, frees: ["cond."] },
];

function segments(clipSeconds: number, textTokens: number): Segments {
  const samples = Math.round(clipSeconds * A.sampleRate);
  const text = textTokens + 2; // start and stop text tokens
  const audio = Math.ceil(samples / A.codeStride) + 5; // codes + 3 padding (gpt.py), start and stop
  return { cond: A.condLatents, text, audio, outputs: text + audio, all: A.condLatents + text + audio };
}

export const xttsV2: TrainableModel = {
  id: "xtts-v2",
  runtime: xttsV2Runtime,
  name: "XTTS v2 (GPT part, coqui GPTTrainer)",
  limits: {
    sampleRate: 22050,
    minClipSeconds: 0.5,
    maxClipSeconds: 255995 / 22050,
    hardMaxClipSeconds: ((A.audioPositions - 5) * A.codeStride) / 22050,
    maxTextTokens: 200,
    minTotalSeconds: 120,
    languages: ["en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi"],
    charLimits: {
      en: 250,
      de: 253,
      fr: 273,
      es: 239,
      it: 213,
      pt: 203,
      pl: 224,
      "zh-cn": 82,
      ar: 166,
      cs: 186,
      ru: 182,
      nl: 251,
      tr: 226,
      ja: 71,
      hu: 224,
      ko: 95,
      hi: 150,
    },
  },
  trainableParams: XTTS_V2_TRAINABLE,
  frozenParams: P.frozen,
  parameterGroups: XTTS_V2_GROUPS,
  activations: XTTS_V2_ACTIVATIONS,
  segments,
  backwardTransientBytes(seg, attention, bytesPerCompute) {
    const logits = 4 * (seg.text! * A.textVocab + seg.audio! * A.audioVocab); // grad of the fp32 log-softmax input
    const mlp = 3 * 4 * h * seg.all! * bytesPerCompute; // grads through gelu_new: three 4h-wide temporaries
    const scores = attention === "eager" ? 2 * A.heads * seg.all! * seg.all! * 4 : 0; // grad of softmax output and input
    const condScores = 2 * A.condHeads * Tc * Tc * 4;
    return Math.max(logits, mlp, scores, condScores);
  },
  tokenizer: xttsTokenizer,
  learningRate(effectiveBatch) {
    const factor = Math.min(1, Math.max(0.5, Math.sqrt(effectiveBatch / 4)));
    return {
      value: 5e-6 * factor,
      rule: "5e-6 (AllTalk/coqui at effective batch 4 and above) x clamp(sqrt(effective batch / 4), 0.5, 1): square-root scaling for Adam below the reference batch, never above the sources' 5e-6",
    };
  },
  trainerConfig(s: PlanSettings) {
    const opt = OPTIMIZERS[s.optimizer];
    const optimizerParams: Record<string, unknown> =
      s.optimizer === "adamw" || s.optimizer === "adam"
        ? { betas: [0.9, 0.96], eps: 1e-8, weight_decay: 1e-2 }
        : s.optimizer === "sgd"
          ? { momentum: 0.9, weight_decay: 1e-4 }
          : {};
    if (s.fused)
      Object.assign(optimizerParams, s.optimizer === "adamw" || s.optimizer === "adam" || s.optimizer === "sgd" ? { fused: true } : { foreach: false });
    const amp = s.precision !== "fp32";
    return {
      GPTArgs: {
        max_conditioning_length: 132300,
        min_conditioning_length: 66150,
        max_wav_length: Math.round(s.maxClipSeconds * 22050),
        max_text_length: s.maxTextTokens,
        gpt_num_audio_tokens: 1026,
        gpt_start_audio_token: 1024,
        gpt_stop_audio_token: 1025,
        gpt_use_masking_gt_prompt_approach: true,
        gpt_use_perceiver_resampler: true,
      },
      GPTTrainerConfig: {
        batch_size: s.batchSize,
        eval_batch_size: s.batchSize,
        lr: s.learningRate,
        optimizer: opt.torchName,
        optimizer_wd_only_on_weights: true,
        optimizer_params: optimizerParams,
        mixed_precision: amp,
        ...(amp ? { precision: s.precision } : {}),
      },
      TrainerArgs: { grad_accum_steps: s.gradAccumSteps },
    };
  },
};
