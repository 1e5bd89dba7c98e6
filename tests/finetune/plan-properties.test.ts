/**
 * The planner under the inputs users really give it (seeded fast-check, a few seconds): tiny 2/4
 * GB cards, nothing free, a desktop or an LLM holding most of the card (or, from a stale reading
 * or a typo, more than all of it), no clips, one clip, clips over the cap, odd effective batches.
 * Invariants: it never throws, never plans over its budget, every figure is finite and not
 * negative, a plan that does not fit says what to change (and what it says would fit does), and
 * more free memory never gives a worse plan.
 */
import fs from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { xttsV2 } from "../../core/finetune/models/xtts-v2.ts";
import { plan, SAFETY_MB, trainerMemoryFraction, type Plan, type PlanClip, type PlanInput } from "../../core/finetune/plan.ts";
import { CUDA_CONTEXT_MB, estimate } from "../../core/finetune/vram.ts";
import type { CheckReport } from "../../core/finetune/check.ts";
import { readDataset } from "../../core/finetune/dataset/read.ts";
import { histogram } from "../../core/finetune/report.ts";
import { tempDir } from "../helpers/temp.ts";

const SEED = 20261201;
const RUNS = 300;
const hardMax = xttsV2.limits.hardMaxClipSeconds;

const clip: fc.Arbitrary<PlanClip> = fc.record({
  seconds: fc.oneof(fc.double({ min: 0.05, max: 40, noNaN: true }), fc.constantFrom(0.5, 8, 10, 11, 255995 / 22050, 20)),
  tokens: fc.integer({ min: 0, max: 400 }),
  split: fc.constantFrom<("train" | "eval")[]>("train", "train", "train", "eval"),
});

const longClip: fc.Arbitrary<PlanClip> = fc.record({
  seconds: fc.double({ min: 10.01, max: hardMax, noNaN: true }),
  tokens: fc.integer({ min: 60, max: 200 }),
  split: fc.constant("train" as const),
});

const card = fc.oneof(fc.constantFrom(2048, 4096, 6144, 8192, 11264, 12288, 15360, 16384, 24576, 32607, 81920), fc.integer({ min: 0, max: 100_000 }));

/** The input without the model (so that a counterexample prints short). */
type In = Omit<PlanInput, "model">;
const planFor = (i: In) => plan({ model: xttsV2, ...i });

const input = fc
  .record({
    totalMb: card,
    // others as a share of the card: 0, a desktop, an LLM holding most of it, more than all of it
    othersShare: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1.3, noNaN: true })),
    chorusMb: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4000 })),
    // any clips; one clip; long clips only (with a raised cap they are all the trainer keeps)
    clips: fc.oneof(
      fc.array(clip, { maxLength: 60 }),
      clip.map((c) => [c]),
      fc.array(longClip, { minLength: 1, maxLength: 40 }),
    ),
    os: fc.constantFrom<("linux" | "windows")[]>("linux", "windows"),
    attention: fc.constantFrom<("auto" | "eager" | "sdpa")[]>("auto", "eager", "sdpa"),
    effectiveBatch: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 256 })),
    maxClipSeconds: fc.option(fc.double({ min: 1, max: hardMax, noNaN: true }), { nil: undefined }),
    // the trainer's cap on PyTorch's share of the card (0.95 on Windows by default)
    memoryFraction: fc.option(fc.oneof(fc.constant(0.95), fc.double({ min: 0.1, max: 1, noNaN: true })), { nil: undefined }),
  })
  .map(
    (r): In => ({
      clips: r.clips,
      gpu: { name: "card", totalMb: r.totalMb, othersMb: Math.round(r.totalMb * r.othersShare), chorusMb: r.chorusMb, source: "flags" },
      os: r.os,
      attention: r.attention,
      effectiveBatch: r.effectiveBatch,
      maxClipSeconds: r.maxClipSeconds,
      memoryFraction: r.memoryFraction,
    }),
  );

const run = <T extends unknown[]>(p: fc.IProperty<T>) => fc.assert(p, { seed: SEED, numRuns: RUNS });

function numbers(p: Plan): Record<string, number> {
  const out: Record<string, number> = {
    budgetMb: p.budgetMb,
    freeMb: p.gpu.freeMb,
    batchSize: p.batchSize,
    gradAccumSteps: p.gradAccumSteps,
    effectiveBatch: p.effectiveBatch,
    maxClipSeconds: p.maxClipSeconds,
    maxTextTokens: p.maxTextTokens,
    learningRate: p.learningRate,
    clipsDropped: p.clipsDropped,
    minutesTrained: p.minutesTrained,
    updatesPerEpoch: p.updatesPerEpoch,
    allocatedMb: p.predicted.allocatedMb,
    deviceMb: p.predicted.deviceMb,
    forwardBackwardMb: p.predicted.forwardBackwardMb,
    optimizerStepMb: p.predicted.optimizerStepMb,
    activationPerSampleMb: p.predicted.activationPerSampleMb,
  };
  for (const [k, v] of Object.entries(p.predicted.terms)) out[`terms.${k}`] = v;
  return out;
}

/** Position of the chosen settings in the search order (earlier = better; docs/finetune.md). */
function rank(p: Plan): number[] {
  const precision = { fp32: 0, bf16: 1, fp16: 2 }[p.precision];
  return [precision, -p.maxClipSeconds, p.fused ? 1 : 0, -p.batchSize, -p.gradAccumSteps];
}
const notLater = (a: number[], b: number[]) => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return true;
};

describe("finetune plan: properties", () => {
  it("never throws; every figure is finite and not negative; a plan that fits is within its budget and the card", () => {
    run(
      fc.property(input, (i) => {
        const p = planFor(i);
        for (const [k, v] of Object.entries(numbers(p))) {
          expect(Number.isFinite(v), `${k} = ${v}`).toBe(true);
          expect(v, k).toBeGreaterThanOrEqual(0);
        }
        expect(p.batchSize).toBeGreaterThanOrEqual(1);
        expect(p.gradAccumSteps).toBeGreaterThanOrEqual(1);
        expect(p.learningRate).toBeGreaterThan(0);
        expect(p.trainerConfig.GPTTrainerConfig!.batch_size).toBe(p.batchSize);
        expect(p.trainerConfig.TrainerArgs!.grad_accum_steps).toBe(p.gradAccumSteps);
        if (p.fits) {
          expect(p.predicted.deviceMb).toBeLessThanOrEqual(p.budgetMb);
          expect(p.predicted.deviceMb + SAFETY_MB).toBeLessThanOrEqual(i.gpu.totalMb - i.gpu.othersMb - i.gpu.chorusMb);
          // PyTorch's reserved memory (the prediction less the CUDA context) stays under the trainer's cap
          if (i.memoryFraction) expect(p.predicted.deviceMb - CUDA_CONTEXT_MB + SAFETY_MB).toBeLessThanOrEqual(i.memoryFraction * i.gpu.totalMb + 1);
          // the prediction is the one of the settings handed to the trainer
          const again = estimate(xttsV2, {
            batchSize: p.batchSize,
            gradAccumSteps: p.gradAccumSteps,
            maxClipSeconds: p.maxClipSeconds,
            maxTextTokens: p.maxTextTokens,
            precision: p.precision,
            attention: p.attention,
            optimizer: p.optimizer,
            fused: p.fused,
          });
          expect(again.deviceMb).toBeCloseTo(p.predicted.deviceMb, 0);
          expect(p.updatesPerEpoch).toBeGreaterThan(0);
          expect(p.maxClipSeconds).toBeLessThanOrEqual(hardMax);
        }
      }),
    );
  });

  it("a plan that does not fit says why and what to change; what it says would fit does", () => {
    run(
      fc.property(input, (i) => {
        const p = planFor(i);
        if (p.fits) return;
        expect(p.alternatives.length).toBeGreaterThan(0);
        expect(p.warnings.some((w) => /does not fit|no training clip/.test(w))).toBe(true);
        const card = p.alternatives.find((a) => a.startsWith("a card with at least"));
        if (card) {
          const need = Number(/at least (\d+) MB free/.exec(card)![1]);
          const total = Number(/and (\d+) MB in total/.exec(card)?.[1] ?? 0);
          const bigger = planFor({ ...i, gpu: { ...i.gpu, totalMb: Math.max(total, need + i.gpu.othersMb + i.gpu.chorusMb) } });
          expect(bigger.fits, `${card}: a card with ${need} MB free`).toBe(true);
        }
        if (p.alternatives.some((a) => a.startsWith("raise finetune.runner.memoryFraction")))
          expect(planFor({ ...i, memoryFraction: 1 }).fits, "no cap makes it fit").toBe(true);
        if (p.alternatives.some((a) => a.startsWith("free the")))
          expect(planFor({ ...i, gpu: { ...i.gpu, othersMb: 0 } }).fits, "freeing what others hold makes it fit").toBe(true);
      }),
    );
  });

  it("more free memory (a bigger card, others holding less) never gives a worse plan", () => {
    run(
      fc.property(input, fc.integer({ min: 1, max: 30_000 }), fc.boolean(), (i, extra, byCard) => {
        const less = planFor(i);
        const gpu = byCard ? { ...i.gpu, totalMb: i.gpu.totalMb + extra } : { ...i.gpu, othersMb: Math.max(0, i.gpu.othersMb - extra) };
        const more = planFor({ ...i, gpu });
        if (less.fits) {
          expect(more.fits).toBe(true);
          expect(notLater(rank(more), rank(less)), `${JSON.stringify(rank(more))} after ${JSON.stringify(rank(less))}`).toBe(true);
        }
        expect(more.budgetMb).toBeGreaterThanOrEqual(less.budgetMb);
      }),
    );
  });
});

describe("finetune plan: odd inputs", () => {
  const gpu = (totalMb: number, othersMb = 0) => ({ name: "card", totalMb, othersMb, chorusMb: 0, source: "flags" as const });
  const base = { model: xttsV2, os: "linux" as const, attention: "sdpa" as const, effectiveBatch: 4 };

  it("a huge dataset (150,000 clips) is planned, not a stack overflow", () => {
    const clips = Array.from({ length: 150_000 }, (_, k) => ({ seconds: 2 + (k % 9), tokens: 20 + (k % 80), split: "train" as const }));
    const p = plan({ ...base, clips, gpu: gpu(24576) });
    expect(p.fits).toBe(true);
    expect(p.maxTextTokens).toBe(99);
    expect(p.updatesPerEpoch).toBe(150_000 / 4);
  });

  it.each([
    ["no clips", [] as PlanClip[], /no training clips/, /training split/],
    ["one clip, longer than the cap", [{ seconds: 30, tokens: 200, split: "train" }] as PlanClip[], /1 are longer than 11.6 s/, /chorus finetune prepare/],
    ["only eval clips", [{ seconds: 5, tokens: 40, split: "eval" }] as PlanClip[], /none in the training split/, /training split/],
    ["text over 200 tokens", [{ seconds: 8, tokens: 260, split: "train" }] as PlanClip[], /1 over 200 text tokens/, /transcript is over 200 tokens/],
  ])("%s: no plan on a 24 GB card, saying what to change", (_name, clips, why, fix) => {
    const p = plan({ ...base, clips, gpu: gpu(24576) });
    expect(p.fits).toBe(false);
    expect(p.warnings.join("\n")).toMatch(why);
    expect(p.alternatives.join("\n")).toMatch(fix);
    expect(p.updatesPerEpoch).toBe(0);
  });

  it("a shorter clip cap that would drop every clip is not offered (it used to 'fit' with 0 updates per epoch)", () => {
    const clips = Array.from({ length: 40 }, (_, k) => ({ seconds: 15 + (k % 5), tokens: 150, split: "train" as const }));
    for (const othersMb of [0, 1500, 2000]) {
      const p = plan({ ...base, attention: "eager", clips, gpu: gpu(12288, othersMb), maxClipSeconds: 20 });
      if (p.fits) expect(p.updatesPerEpoch, `${othersMb} MB held by others`).toBeGreaterThan(0);
      else expect(p.alternatives.length).toBeGreaterThan(0);
      expect(p.maxClipSeconds).toBeGreaterThan(p.fits ? 14 : 0);
    }
  });

  it("Windows: the trainer's 95 % cap on PyTorch (finetune.runner.memoryFraction) bounds the plan", () => {
    // a 24 GB card, effective batch 8, longest clip 10.6 s, eager: 8 x 1 fits the card but reserves more than 95 % of it
    const clips = Array.from({ length: 60 }, (_, k) => {
      const seconds = k === 0 ? 10.6 : 3 + (k % 5);
      return { seconds, tokens: Math.ceil(9.05 * seconds), split: "train" as const };
    });
    const input = { ...base, os: "windows" as const, attention: "eager" as const, effectiveBatch: 8, clips, gpu: gpu(24564) };
    expect(trainerMemoryFraction(undefined, "windows")).toBe(0.95);
    expect(trainerMemoryFraction(undefined, "linux")).toBeNull();
    expect(trainerMemoryFraction(1, "windows")).toBe(1);
    const uncapped = plan({ ...input, memoryFraction: 1 });
    expect([uncapped.batchSize, uncapped.gradAccumSteps]).toEqual([8, 1]);
    expect(uncapped.predicted.deviceMb - CUDA_CONTEXT_MB).toBeGreaterThan(0.95 * 24564);
    const capped = plan({ ...input, memoryFraction: trainerMemoryFraction(undefined, "windows") });
    expect(capped.fits).toBe(true);
    expect(capped.batchSize).toBeLessThan(8);
    expect(capped.predicted.deviceMb - CUDA_CONTEXT_MB + SAFETY_MB).toBeLessThanOrEqual(0.95 * 24564);
    expect(capped.warnings.join("\n")).toMatch(/at most 95 % of the card \(finetune.runner.memoryFraction, 0.95 by default on Windows/);
  });

  it("others reported above the card's total: 0 MB free, not a negative figure", () => {
    const clips = [{ seconds: 5, tokens: 45, split: "train" as const }];
    const p = plan({ ...base, clips, gpu: gpu(12288, 20000) });
    expect(p.fits).toBe(false);
    expect(p.gpu.freeMb).toBe(0);
    expect(p.budgetMb).toBe(0);
    expect(p.warnings.join("\n")).toContain("this card has 0 MB free");
    expect(p.alternatives.join("\n")).toMatch(/free the 20000 MB other processes hold/);
  });
});

describe("huge datasets elsewhere in the check", () => {
  it("the clip-length histogram of 150,000 clips", () => {
    const clips = Array.from({ length: 150_000 }, (_, k) => ({ seconds: 1 + (k % 12) }));
    const bins = histogram({ clips } as unknown as CheckReport);
    expect(bins).toHaveLength(12);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(150_000);
  });

  it("a metadata_eval.csv of 150,000 rows is read", () => {
    const dir = tempDir("ft-huge");
    fs.writeFileSync(path.join(dir, "metadata_train.csv"), "audio_file|text|speaker_name\nwavs/a.wav|Hello there.|me\n");
    const rows = Array.from({ length: 150_000 }, (_, k) => `wavs/e${k}.wav|Clip number ${k}.|me`);
    fs.writeFileSync(path.join(dir, "metadata_eval.csv"), `audio_file|text|speaker_name\n${rows.join("\n")}\n`);
    const listing = readDataset(dir);
    expect(listing.entries.filter((e) => e.split === "eval")).toHaveLength(150_000);
  });
});
