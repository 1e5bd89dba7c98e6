/**
 * The fine-tune runner against the STAND-IN trainer (tests/finetune/standin/trainer.py, declared
 * there: no torch, no coqui-tts, the real protocol layer). The stand-in runs out of memory when
 * fixed + k x batch x longest clip exceeds its card; the batch holding the longest clip comes
 * at step 3 of each epoch, after the step-2 checkpoint. What this does not verify: the real
 * worker (core/finetune/trainer/worker.py) with torch and coqui-tts on a GPU.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveGpu } from "../../core/finetune/gpu.ts";
import { configLauncher, probesRoot, trainerPython } from "../../core/finetune/runner/environment.ts";
import { xttsV2Runtime } from "../../core/finetune/models/xtts-v2-runtime.ts";
import { JobManager } from "../../core/finetune/runner/manager.ts";
import { buildSpec } from "../../core/finetune/runner/spec.ts";
import type { Scheduler } from "../../core/scheduler/scheduler.ts";
import { testConfig } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";
import { makeBaseModel, makeDataset, schedulerWithoutEngines, STANDIN, standinEnv } from "./runner-helpers.ts";

const ROOT = path.join(import.meta.dirname, "..", "..");
const root = tempDir("ft-runner");
const dataset = makeDataset(path.join(root, "dataset"));
const base = makeBaseModel(path.join(root, "base"));

function setup(env: Record<string, string>, runner: Record<string, unknown> = {}) {
  const config = testConfig({
    dataDir: path.join(root, "var"),
    scheduler: { devices: { simulated: [{ name: "RTX 4090", totalMb: 24564, heldByOthersMb: 0 }] }, reserveMb: 256, reservePercent: 0 },
    finetune: { runner: { python: "python3", worker: STANDIN, env, saveEverySteps: 2, jobsDir: path.join(root, "jobs"), ...runner } },
  });
  const scheduler = schedulerWithoutEngines(config);
  const manager = new JobManager(path.join(root, "jobs"), { leases: scheduler.training, launch: configLauncher(config), platform: "linux" });
  return { config, scheduler, manager };
}
const schedulers: Scheduler[] = [];
afterAll(async () => {
  for (const s of schedulers) await s.close();
});

describe("fine-tune runner with the stand-in trainer", () => {
  it("recovers from out-of-memory at the planned batch: re-plans (same effective batch and LR), resumes from the checkpoint, finishes a complete model folder", async () => {
    const { config, scheduler, manager } = setup(standinEnv({ totalMb: 24564, fixedMb: 16000, perSampleSecond: 300 }));
    schedulers.push(scheduler);
    const out = path.join(root, "models", "voice-a");
    const spec = await buildSpec({ mode: "train", datasetDir: dataset, baseModelDir: base, outDir: out, epochs: 2 }, config, () => resolveGpu({}, config));
    expect(spec.planned).toMatchObject({ batchSize: 4, gradAccumSteps: 1 });
    const job = manager.start(spec);
    const during: string[] = [];
    job.on("message", (m) => {
      if (m.type === "start") during.push(JSON.stringify(scheduler.snapshot(0).training));
    });
    const state = await job.run();

    expect(state.status, state.error ?? "").toBe("finished");
    expect(state.replans).toHaveLength(1);
    const r = state.replans[0]!;
    expect(r.kind).toBe("batch");
    expect(r.from).toMatchObject({ batchSize: 4, gradAccumSteps: 1 });
    expect(r.to).toMatchObject({ batchSize: 2, gradAccumSteps: 2 });
    expect(r.to.batchSize * r.to.gradAccumSteps).toBe(r.from.batchSize * r.from.gradAccumSteps);
    expect(r.to.learningRate).toBe(r.from.learningRate);
    expect(r.observedPeakMb).toBeGreaterThan(24564);
    expect(state.settings).toMatchObject({ batchSize: 2, gradAccumSteps: 2 });

    const log = manager.log(spec.id);
    const kinds = log.map((e) => e.event);
    const oomAt = kinds.indexOf("oom");
    const replanAt = kinds.indexOf("replan");
    expect(oomAt).toBeGreaterThan(kinds.indexOf("checkpoint"));
    expect(replanAt).toBeGreaterThan(oomAt);
    const replan = log[replanAt]!;
    expect(replan).toMatchObject({ effectiveBatchBefore: 4, effectiveBatchAfter: 4, resumeFrom: expect.stringContaining("checkpoint_2") });
    const starts = log.filter((e) => e.event === "start");
    expect(starts).toHaveLength(2);
    expect(starts[0]).toMatchObject({ batchSize: 4, gradAccumSteps: 1, resumedFrom: null, env: { PYTORCH_CUDA_ALLOC_CONF: "expandable_segments:True" } });
    expect(starts[1]).toMatchObject({ batchSize: 2, gradAccumSteps: 2, resumedFrom: { globalStep: 2 } });
    expect(kinds.at(-1)).toBe("lease-released");
    expect(kinds).toContain("finished");
    // The job held the simulated GPU while it ran, and gave it back.
    expect(JSON.parse(during[0]!)).toEqual([expect.objectContaining({ job: spec.id, device: "cuda:0", state: "held", memoryMb: spec.leaseMb })]);
    expect(scheduler.snapshot(0).training).toEqual([]);

    for (const f of ["config.json", "model.pth", "vocab.json", "speakers_xtts.pth", "dvae.pth", "mel_stats.pth", "chorus-finetune.json"])
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    expect(fs.readFileSync(path.join(out, "model.pth"), "utf8")).toContain("batch 2, accumulation 2");
    // The XTTS engine's own model discovery (engines/xtts/xtts_models.py, read at every load) lists it, fine-tunable again.
    const scan = spawnSync(
      "python3",
      [
        "-c",
        "import json, sys; sys.path.insert(0, sys.argv[1]); from xtts_models import scan_models; print(json.dumps([[m.name, m.finetunable] for m in scan_models(sys.argv[2])]))",
        path.join(ROOT, "engines", "xtts"),
        path.dirname(out),
      ],
      { encoding: "utf8" },
    );
    expect(JSON.parse(scan.stdout), scan.stderr).toContainEqual(["voice-a", true]);
    expect(state.result!.referenceSeconds).toBeGreaterThanOrEqual(6);
    expect(state.result!.referenceSeconds).toBeLessThanOrEqual(30);
    expect(state.result!.referenceClips.length).toBeGreaterThan(0);
    for (const c of state.result!.referenceClips) expect(fs.existsSync(path.join(out, c))).toBe(true);
    // the longest clean clips (no warning from the check) come first
    const clean = spec.clips.filter((c) => c.clean).sort((a, b) => b.seconds - a.seconds);
    expect(clean.length).toBeGreaterThan(0);
    expect(state.result!.referenceClips[0]).toMatch(new RegExp(`01-${path.basename(clean[0]!.clip)}$`));
    expect(spec.clips.filter((c) => !c.clean).every((c) => !state.result!.referenceClips.some((r) => r.endsWith(path.basename(c.clip))))).toBe(true);
  });

  it("lowers the clip cap when batch 1 does not fit, saying how many clips that drops", async () => {
    // 4 x 10 s, 2 x 10 s and 1 x 10 s all exceed the card; 1 x 8 s fits. The longest batch comes at step 1, before any checkpoint.
    const { config, scheduler, manager } = setup(standinEnv({ totalMb: 24564, fixedMb: 21000, perSampleSecond: 400, longestAtStep: 1 }));
    schedulers.push(scheduler);
    const spec = await buildSpec(
      { mode: "train", datasetDir: dataset, baseModelDir: base, outDir: path.join(root, "models", "voice-b"), epochs: 1 },
      config,
      () => resolveGpu({}, config),
    );
    const state = await manager.start(spec).run();
    expect(state.status, state.error ?? "").toBe("finished");
    expect(state.replans.map((r) => r.kind)).toEqual(["batch", "batch", "clip-cap"]);
    const last = state.replans[2]!;
    expect(last.to).toMatchObject({ batchSize: 1, gradAccumSteps: 4, maxClipSeconds: 8 });
    expect(last.clipsDropped).toBe(3); // the 9, 9 and 10 s clips
    expect(last.message).toMatch(/3 training clip\(s\) \(0\.5 min\) are dropped, 17 remain/);
    const attempts = manager.log(spec.id).filter((e) => e.event === "attempt");
    expect(attempts[1]).toMatchObject({ resumeFrom: null, note: "no checkpoint yet: the epoch restarts" });
  });

  it("gives up at batch 1 and the minimum clip cap, saying what would fit", async () => {
    const { config, scheduler, manager } = setup(standinEnv({ totalMb: 12288, fixedMb: 12000, perSampleSecond: 400, longestAtStep: 1 }));
    schedulers.push(scheduler);
    const spec = await buildSpec(
      { mode: "train", datasetDir: dataset, baseModelDir: base, outDir: path.join(root, "models", "voice-c"), epochs: 1 },
      config,
      () => resolveGpu({}, config),
    );
    const state = await manager.start(spec).run();
    expect(state.status).toBe("failed");
    expect(state.error).toMatch(/out of memory at batch 1 with clips up to 6 s \(the minimum cap is 6 s\).*What would fit: a card/);
    expect(manager.log(spec.id).map((e) => e.event)).toContain("give-up");
  });

  it("stops at the retry limit (finetune.runner.maxOomRetries)", async () => {
    const { config, scheduler, manager } = setup(standinEnv({ totalMb: 12288, fixedMb: 12000, perSampleSecond: 400, longestAtStep: 1 }), { maxOomRetries: 1 });
    schedulers.push(scheduler);
    const spec = await buildSpec(
      { mode: "train", datasetDir: dataset, baseModelDir: base, outDir: path.join(root, "models", "voice-d"), epochs: 1 },
      config,
      () => resolveGpu({}, config),
    );
    const state = await manager.start(spec).run();
    expect(state.error).toMatch(/gave up after 2 out-of-memory errors \(finetune.runner.maxOomRetries = 1\)/);
  });

  it("without an environment the job says how to set it up", () => {
    const config = testConfig({ dataDir: path.join(root, "var-empty") });
    expect(() => trainerPython(config, xttsV2Runtime)).toThrow(
      /fine-tune environment finetune-xtts is missing \(no environment yet\); set it up with: chorus finetune setup/,
    );
  });

  it("probe: two steps on the longest clips, measured next to the prediction, filed for the planner", async () => {
    const { config, scheduler, manager } = setup(standinEnv({ totalMb: 24564, fixedMb: 9000, perSampleSecond: 100 }));
    schedulers.push(scheduler);
    const probes = probesRoot(config);
    const m2 = new JobManager(manager.root, { leases: scheduler.training, launch: configLauncher(config) }, probes);
    const spec = await buildSpec({ mode: "probe", datasetDir: dataset, baseModelDir: base }, config, () => resolveGpu({}, config));
    const state = await m2.start(spec).run();
    expect(state.status, state.error ?? "").toBe("finished");
    // 9000 + 100 x 4 x 10 s = 13000 MB allocated; reserved 5 % more
    expect(state.probe).toMatchObject({ peakAllocatedMb: 13000, predictedMb: spec.predictedMb });
    // like for like: PyTorch's counters against the prediction without the 512 MB CUDA context
    expect(state.probe!.ratio).toBeCloseTo(13650 / (spec.predictedMb - 512), 2);
    await new Promise((r) => setImmediate(r));
    const filed = JSON.parse(fs.readFileSync(path.join(probes, fs.readdirSync(probes)[0]!), "utf8"));
    expect(filed).toMatchObject({ card: "RTX 4090 (simulated)", model: "xtts-v2", ratio: state.probe!.ratio });
    // The planner now uses it for this card and model: predictions scaled by the measured ratio, and says so.
    const again = await buildSpec({ mode: "train", datasetDir: dataset, baseModelDir: base, outDir: path.join(root, "models", "voice-p") }, config, () =>
      resolveGpu({}, config),
    );
    expect(again.planned).toEqual(spec.planned);
    expect(Math.abs(again.predictedMb - ((spec.predictedMb - 512) * state.probe!.ratio + 512))).toBeLessThanOrEqual(1);
  });
});
