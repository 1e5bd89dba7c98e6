/** Pure parts of the runner: the slowdown warning, re-planning arithmetic, the protocol parser, the probe ratio. */
import { describe, expect, it } from "vitest";
import { parseLine, type MessageOf } from "../../core/finetune/runner/protocol.ts";
import { replanAfterOom } from "../../core/finetune/runner/recovery.ts";
import { apply, initialState, StepClock } from "../../core/finetune/runner/state.ts";
import type { JobSpec } from "../../core/finetune/runner/store.ts";
import fs from "node:fs";
import { xttsV2 } from "../../core/finetune/models/xtts-v2.ts";
import { plan } from "../../core/finetune/plan.ts";
import { loadProbe, probeFile, probeRatio, saveProbe } from "../../core/finetune/runner/probes.ts";
import { CUDA_CONTEXT_MB } from "../../core/finetune/vram.ts";
import { tempDir } from "../helpers/temp.ts";

const settings = { batchSize: 4, gradAccumSteps: 1, maxClipSeconds: 11, learningRate: 5e-6 };
const spec = { id: "ft-x", mode: "train", epochs: 1, planned: settings, predictedMb: 9000 } as unknown as JobSpec;
const oom = (o: Partial<MessageOf<"oom">> = {}): MessageOf<"oom"> => ({
  type: "oom",
  message: "CUDA out of memory",
  failedAllocationMb: 500,
  peakAllocatedMb: 11500,
  peakReservedMb: 11800,
  totalMb: 12288,
  batchSize: 4,
  longestClipSeconds: 11,
  globalStep: 3,
  phase: "forward",
  ...o,
});
const progress = (globalStep: number, stepSeconds: number, reservedMb: number) =>
  ({
    type: "progress",
    epoch: 0,
    step: globalStep,
    globalStep,
    stepsPerEpoch: 100,
    loss: 1,
    learningRate: 5e-6,
    samplesPerSecond: 4 / stepSeconds,
    stepSeconds,
    maxAllocatedMb: reservedMb - 200,
    maxReservedMb: reservedMb,
    reservedMb,
    totalMb: 12288,
    longestClipSeconds: 9,
  }) as const;

describe("slow steps near full memory", () => {
  it("warns once, with the cause and the fix, when steps slow sharply while reserved memory sits near the total", () => {
    const state = initialState(spec);
    const clock = new StepClock();
    const warnings: string[] = [];
    apply(
      state,
      {
        type: "start",
        protocol: 1,
        mode: "train",
        device: "cuda:0",
        totalMb: 12288,
        stack: {},
        trainSamples: 400,
        evalSamples: 40,
        stepsPerEpoch: 100,
        epochs: 1,
        batchSize: 4,
        gradAccumSteps: 1,
        maxClipSeconds: 11,
        resumedFrom: null,
        env: {},
      },
      clock,
    );
    for (let g = 1; g <= 10; g++) warnings.push(apply(state, progress(g, 1, 9000), clock) ?? "");
    for (let g = 11; g <= 16; g++) warnings.push(apply(state, progress(g, 6, 12100), clock) ?? "");
    const said = warnings.filter(Boolean);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^steps are [\d.]+x slower than earlier while reserved memory is 12100 of 12288 MB: .*system-memory fallback.*Fix: /);
    expect(state.slowdown).toBe(said[0]);
    expect(state.warnings).toHaveLength(1);
    expect(state.etaSeconds).toBeGreaterThan(0);
  });

  it("says nothing when slow steps are not near full memory", () => {
    const state = initialState(spec);
    const clock = new StepClock();
    for (let g = 1; g <= 10; g++) apply(state, progress(g, 1, 6000), clock);
    for (let g = 11; g <= 16; g++) expect(apply(state, progress(g, 6, 6000), clock)).toBeUndefined();
    expect(state.slowdown).toBeNull();
  });
});

describe("re-planning after out-of-memory", () => {
  const clips = [3, 5, 8, 9.5, 11].map((seconds) => ({ seconds, split: "train" as const }));
  it("keeps the effective batch exactly (largest divisor at or under half)", () => {
    const three = replanAfterOom({ ...settings, batchSize: 3, gradAccumSteps: 2 }, oom(), clips, { minClipSeconds: 6 });
    expect(three.ok && three.replan.to).toMatchObject({ batchSize: 1, gradAccumSteps: 6 });
    const six = replanAfterOom({ ...settings, batchSize: 6 }, oom(), clips, { minClipSeconds: 6 });
    expect(six.ok && six.replan.to).toMatchObject({ batchSize: 3, gradAccumSteps: 2, learningRate: 5e-6 });
    expect(six.ok && six.replan.observedPeakMb).toBe(12000);
  });
  it("then lowers the clip cap step by step down to the minimum, then gives up", () => {
    const one = { ...settings, batchSize: 1, gradAccumSteps: 4 };
    const a = replanAfterOom(one, oom(), clips, { minClipSeconds: 6 });
    expect(a.ok && a.replan).toMatchObject({ kind: "clip-cap", to: { maxClipSeconds: 10 }, clipsDropped: 1, clipsLeft: 4 });
    const b = replanAfterOom({ ...one, maxClipSeconds: 8 }, oom(), clips, { minClipSeconds: 6 });
    expect(b.ok && b.replan).toMatchObject({ to: { maxClipSeconds: 6 }, clipsDropped: 3 });
    const c = replanAfterOom({ ...one, maxClipSeconds: 6 }, oom(), clips, { minClipSeconds: 6 });
    expect(c.ok).toBe(false);
    expect(!c.ok && c.message).toMatch(/What would fit: a card \(or free memory\) of at least 13 GB/);
  });
});

describe("protocol parser", () => {
  it("reports bad lines instead of throwing", () => {
    expect(parseLine("garbage")).toMatchObject({ ok: false, error: expect.stringContaining("not JSON") });
    expect(parseLine('{"type":"progress","epoch":"x"}')).toMatchObject({ ok: false, error: expect.stringContaining("bad progress") });
    expect(parseLine('{"type":"checkpoint","path":"/c","epoch":1,"globalStep":4,"reason":"epoch"}')).toMatchObject({
      ok: true,
      message: { type: "checkpoint", globalStep: 4 },
    });
  });
});

describe("probe ratio", () => {
  it("a probe that confirms the prediction reads 1 and leaves the plan as it is (not scaled down, planning over the card)", () => {
    const clips = Array.from({ length: 60 }, (_, k) => ({ seconds: 3 + (k % 8), tokens: 30 + (k % 8) * 9, split: "train" as const }));
    const input = {
      model: xttsV2,
      clips,
      gpu: { name: "16 GB", totalMb: 16384, othersMb: 300, chorusMb: 0, source: "flags" as const },
      os: "linux" as const,
      attention: "eager" as const,
      effectiveBatch: 4,
    };
    const planned = plan(input);
    const p = planned.predicted;
    // what PyTorch's counters read when the model is exact: allocated, and reserved = allocated + the allocator's slack (no CUDA context)
    const ratio = probeRatio(p.allocatedMb, p.deviceMb - CUDA_CONTEXT_MB, p.deviceMb);
    expect(ratio).toBeCloseTo(1, 2);
    const dir = tempDir("ft-probe");
    saveProbe(dir, { card: "16 GB", model: "xtts-v2", planned: settings, id: "ft-p" } as unknown as JobSpec, {
      peakAllocatedMb: p.allocatedMb,
      peakReservedMb: p.deviceMb - CUDA_CONTEXT_MB,
      predictedMb: p.deviceMb,
      ratio,
    });
    const probe = loadProbe(dir, "16 GB", "xtts-v2")!;
    expect(probe.ratio).toBeCloseTo(1, 2);
    const again = plan({ ...input, probe });
    expect([again.batchSize, again.gradAccumSteps, again.maxClipSeconds]).toEqual([planned.batchSize, planned.gradAccumSteps, planned.maxClipSeconds]);
    expect(again.predicted.deviceMb).toBeGreaterThanOrEqual(p.deviceMb - 20);
    // an old record (ratio over the device peak, about 0.97 here) is read like for like too
    fs.writeFileSync(
      probeFile(dir, "16 GB", "xtts-v2"),
      JSON.stringify({ ...probe, ratio: Math.round(((p.deviceMb - CUDA_CONTEXT_MB) / p.deviceMb) * 1000) / 1000 }),
    );
    expect(loadProbe(dir, "16 GB", "xtts-v2")!.ratio).toBeCloseTo(1, 2);
  });
  it("the ratio is over the model's own prediction (predictedRawMb), not the corrected one; records filed before it was kept still load", () => {
    const dir = tempDir("ft-probe-raw");
    const job = { card: "16 GB", model: "xtts-v2", planned: settings, id: "ft-q" } as unknown as JobSpec;
    // a second probe: planned at 11512 MB after a first probe's correction, the model itself said 10512 MB
    saveProbe(dir, job, { peakAllocatedMb: 11000, peakReservedMb: 11000, predictedMb: 11512, predictedRawMb: 10512, ratio: 1.1 });
    const filed = loadProbe(dir, "16 GB", "xtts-v2")!;
    expect(filed).toMatchObject({ predictedMb: 11512, predictedRawMb: 10512 });
    expect(filed.ratio).toBe(1.1); // 11000 / (10512 - 512), not 11000 / 11000
    // a record filed before predictedRawMb was kept: the ratio over predictedMb, as before
    const { predictedRawMb: _, ...old } = filed;
    fs.writeFileSync(probeFile(dir, "16 GB", "xtts-v2"), JSON.stringify({ ...old, predictedMb: 10512 }));
    expect(loadProbe(dir, "16 GB", "xtts-v2")).toMatchObject({ predictedMb: 10512, ratio: 1.1 });
  });
});
