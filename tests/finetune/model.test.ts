/**
 * The XTTS description's pieces on their own: the BPE tokenizer over a vocab.json of the
 * Hugging Face tokenizers format (a small one written here, not XTTS's own: no downloads), the
 * activation terms' dependence on the architecture, and the VRAM model's phases.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BpeTokenizer, estimateTokenizer, xttsTokenizer } from "../../core/finetune/models/xtts-tokenizer.ts";
import { xttsV2, XTTS_V2_ARCH } from "../../core/finetune/models/xtts-v2.ts";
import { activationBytes, estimate, MB } from "../../core/finetune/vram.ts";
import { tempDir } from "../helpers/temp.ts";

const letters = "abcdefghijklmnopqrstuvwxyz.,!?'".split("");
const vocabFile = {
  model: {
    type: "BPE",
    vocab: Object.fromEntries([..."[UNK] [SPACE] [en]".split(" "), ...letters, "th", "the", "he", "ll", "llo", "hello"].map((t, i) => [t, i])),
    merges: ["t h", "th e", "h e", "l l", "ll o", "he llo"],
    unk_token: "[UNK]",
  },
  added_tokens: [{ content: "[SPACE]" }, { content: "[en]" }],
};

describe("XTTS tokenizer", () => {
  const tok = new BpeTokenizer(vocabFile);
  it("applies the merges by rank, a [SPACE] per space and the language tag", () => {
    // [en] hello [SPACE] the [SPACE] t o p .
    expect(tok.count("Hello the top.", "en")).toBe(1 + 1 + 1 + 1 + 1 + 3 + 1);
    expect(tok.unknownCharacters("Hello the top.", "en")).toEqual([]);
    expect(tok.unknownCharacters("Héllo 42 €", "en").sort()).toEqual(["2", "4", "é", "€"].sort());
  });

  it("reads vocab.json from the model folder, and estimates without one", () => {
    const dir = tempDir("ft-vocab");
    fs.writeFileSync(path.join(dir, "vocab.json"), JSON.stringify(vocabFile));
    expect(xttsTokenizer(dir).kind).toBe("exact");
    expect(() => xttsTokenizer(path.join(dir, "nope"))).toThrow(/vocab\.json/);
    const est = estimateTokenizer();
    expect(est.count("a".repeat(100), "en")).toBe(66);
    expect(est.count("我".repeat(10), "zh-cn")).toBe(11);
  });
});

describe("VRAM model", () => {
  const base = {
    batchSize: 1,
    gradAccumSteps: 1,
    maxClipSeconds: 11,
    maxTextTokens: 100,
    precision: "fp32",
    attention: "eager",
    optimizer: "adamw",
    fused: false,
  } as const;
  it("derives the per-position term from the architecture: 114 bytes x width + 16 per layer", () => {
    const seg = (all: number) => ({ cond: 32, text: 0, audio: 0, outputs: 0, all });
    const perPos = (activationBytes(xttsV2, seg(101), "fp32", "sdpa").total - activationBytes(xttsV2, seg(100), "fp32", "sdpa").total) / XTTS_V2_ARCH.layers;
    // the per-layer part, with the few outside-the-layers tensors (ln_f, final_norm, a dropout mask) spread over 30 layers
    expect(perPos).toBeCloseTo(114 * 1024 + 16 + (1 + 4 * 1026 * 2 + 64 * 30) / 30, -2);
    // eager adds 30 layers x 16 heads x 9 bytes per position squared
    const eager = (L: number) => activationBytes(xttsV2, seg(L), "fp32", "eager").total - activationBytes(xttsV2, seg(L), "fp32", "sdpa").total;
    expect(eager(200) - 2 * eager(100) + eager(0)).toBeCloseTo(30 * 16 * 9 * (200 * 200 - 2 * 100 * 100), -3);
  });

  it("has the optimizer step as the floor at small batches, and accumulation costs the gradients", () => {
    const small = estimate(xttsV2, { ...base, maxClipSeconds: 3, maxTextTokens: 28 });
    expect(small.peak).toBe("optimizer step");
    expect(small.allocatedMb).toBeCloseTo((5 * 4 * xttsV2.trainableParams + 4 * xttsV2.frozenParams) / MB, 0);
    const accum = estimate(xttsV2, { ...base, batchSize: 2, gradAccumSteps: 2 });
    const noAccum = estimate(xttsV2, { ...base, batchSize: 2 });
    expect(accum.terms.gradients).toBeCloseTo((4 * xttsV2.trainableParams) / MB, 0);
    expect(accum.allocatedMb).toBeGreaterThan(noAccum.allocatedMb + 1000);
    const fused = estimate(xttsV2, { ...base, maxClipSeconds: 3, maxTextTokens: 28, fused: true });
    expect(small.allocatedMb - fused.allocatedMb).toBeGreaterThan(1000);
    const amp = estimate(xttsV2, { ...base, batchSize: 4, precision: "bf16" });
    expect(amp.terms.autocastWeightCopies).toBeGreaterThan(700);
    expect(amp.allocatedMb).toBeLessThan(estimate(xttsV2, { ...base, batchSize: 4 }).allocatedMb);
    expect(estimate(xttsV2, { ...base, batchSize: 1, precision: "bf16" }).allocatedMb).toBeGreaterThanOrEqual(small.allocatedMb);
  });
});
