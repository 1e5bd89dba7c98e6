/**
 * Probes in a row, against the STAND-IN trainer (tests/finetune/standin/trainer.py: no torch, the
 * real protocol layer, a memory model that measures the same peak at the same settings). A probe's
 * ratio is measured against the model's own (uncorrected) prediction, so a second probe that
 * measures what the first did confirms its ratio instead of reading ~1.0 against the corrected
 * figure and filing that. Not verified here: the real worker with torch on a GPU.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveGpu } from "../../core/finetune/gpu.ts";
import { configLauncher, probesRoot } from "../../core/finetune/runner/environment.ts";
import { JobManager } from "../../core/finetune/runner/manager.ts";
import { loadProbe } from "../../core/finetune/runner/probes.ts";
import { summaryText } from "../../core/finetune/runner/render.ts";
import { buildSpec } from "../../core/finetune/runner/spec.ts";
import { CUDA_CONTEXT_MB } from "../../core/finetune/vram.ts";
import type { Scheduler } from "../../core/scheduler/scheduler.ts";
import { testConfig } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";
import { makeBaseModel, makeDataset, schedulerWithoutEngines, STANDIN, standinEnv, until } from "./runner-helpers.ts";

const root = tempDir("ft-probes");
const dataset = makeDataset(path.join(root, "dataset"));
const base = makeBaseModel(path.join(root, "base"));
const CARD = "RTX 4090 (simulated)";
const scheduler: Scheduler[] = [];
afterAll(async () => {
  for (const s of scheduler) await s.close();
});

describe("probes in a row", () => {
  it("a second probe measuring the same peak files the same ratio, and the next plan is corrected by it", async () => {
    const config = testConfig({
      dataDir: path.join(root, "var"),
      scheduler: { devices: { simulated: [{ name: "RTX 4090", totalMb: 24564, heldByOthersMb: 0 }] }, reserveMb: 256, reservePercent: 0 },
      finetune: {
        runner: {
          python: "python3",
          worker: STANDIN,
          // the stand-in measures 9000 + 100 x batch 4 x 10 s = 13000 MB allocated (reserved 5 % more) at the plan's settings
          env: standinEnv({ totalMb: 24564, fixedMb: 9000, perSampleSecond: 100 }),
          saveEverySteps: 2,
          jobsDir: path.join(root, "jobs"),
        },
      },
    });
    const s = schedulerWithoutEngines(config);
    scheduler.push(s);
    const probes = probesRoot(config);
    const manager = new JobManager(path.join(root, "jobs"), { leases: s.training, launch: configLauncher(config), platform: "linux" }, probes);
    const gpu = () => resolveGpu({}, config);

    const probeOnce = async () => {
      const spec = await buildSpec({ mode: "probe", datasetDir: dataset, baseModelDir: base }, config, gpu);
      const state = await manager.start(spec).run();
      expect(state.status, state.error ?? "").toBe("finished");
      // the manager files the result once run() has settled
      const filed = await until(() => {
        const p = loadProbe(probes, CARD, "xtts-v2");
        return p?.job === spec.id ? p : undefined;
      }, "the probe record");
      return { spec, state, filed };
    };

    const first = await probeOnce();
    const raw = first.spec.predictedMb; // no probe yet: the plan is the model's own prediction
    const ratio = first.filed.ratio;
    expect(ratio).toBeCloseTo(13650 / (raw - CUDA_CONTEXT_MB), 2);
    expect(Math.abs(ratio - 1)).toBeGreaterThan(0.05); // the model is off here: the probe corrects it

    const second = await probeOnce();
    expect(second.spec.planned).toEqual(first.spec.planned); // same settings, so the stand-in measures the same peak
    expect(second.state.probe!.peakReservedMb).toBe(first.state.probe!.peakReservedMb);
    // planned with the first probe: the corrected figure is what the lease asks for...
    expect(Math.abs(second.spec.predictedMb - ((raw - CUDA_CONTEXT_MB) * ratio + CUDA_CONTEXT_MB))).toBeLessThanOrEqual(1);
    // ...but the ratio is measured against the uncorrected prediction: the same peak, the same ratio
    expect(second.state.probe!.ratio).toBe(ratio);
    expect(second.filed.ratio).toBe(ratio);
    expect(summaryText(second.state, "")).toContain(
      `predicted ${raw} MB by the model (${second.spec.predictedMb} MB with the earlier probe's correction) (ratio ${ratio})`,
    );
    const onDisk = JSON.parse(fs.readFileSync(path.join(probes, fs.readdirSync(probes)[0]!), "utf8"));
    expect(onDisk).toMatchObject({ job: second.spec.id, ratio });

    // a plan after the two probes is still corrected by the measured ratio (not by ~1.0)
    const train = await buildSpec({ mode: "train", datasetDir: dataset, baseModelDir: base, outDir: path.join(root, "models", "voice") }, config, gpu);
    expect(train.planned).toEqual(first.spec.planned);
    expect(Math.abs(train.predictedMb - ((raw - CUDA_CONTEXT_MB) * ratio + CUDA_CONTEXT_MB))).toBeLessThanOrEqual(1);
  });
});
