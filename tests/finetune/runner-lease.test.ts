/**
 * The job's training-lease request carries `finetune.runner.leaseWaitSeconds` (the scheduler
 * waits that long for busy engines on the card before refusing; it used to be always 300 s,
 * whatever the setting). The lease source is a recorder that refuses, so no trainer runs.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveGpu } from "../../core/finetune/gpu.ts";
import { configLauncher } from "../../core/finetune/runner/environment.ts";
import { JobManager } from "../../core/finetune/runner/manager.ts";
import { buildSpec } from "../../core/finetune/runner/spec.ts";
import type { TrainingLeaseRequest } from "../../core/scheduler/training.ts";
import { testConfig } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";
import { makeBaseModel, makeDataset, STANDIN } from "./runner-helpers.ts";

describe("fine-tune job: the training lease", () => {
  it("asks the scheduler to wait finetune.runner.leaseWaitSeconds for the card", async () => {
    const root = tempDir("ft-lease");
    const config = testConfig({
      dataDir: path.join(root, "var"),
      scheduler: { devices: { simulated: [{ name: "RTX 4090", totalMb: 24564, heldByOthersMb: 0 }] }, reserveMb: 256, reservePercent: 0 },
      finetune: { runner: { python: "python3", worker: STANDIN, leaseWaitSeconds: 42, jobsDir: path.join(root, "jobs") } },
    });
    const spec = await buildSpec(
      {
        mode: "train",
        datasetDir: makeDataset(path.join(root, "dataset")),
        baseModelDir: makeBaseModel(path.join(root, "base")),
        outDir: path.join(root, "out"),
        epochs: 1,
      },
      config,
      () => resolveGpu({}, config),
    );
    const asked: TrainingLeaseRequest[] = [];
    const leases = {
      acquire: async (req: TrainingLeaseRequest) => {
        asked.push(req);
        throw new Error("cuda:0 not clear after 42 s; still held by busy:gpu");
      },
    };
    const manager = new JobManager(path.join(root, "jobs"), { leases, launch: configLauncher(config), platform: "linux" });
    const state = await manager.start(spec).run();
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ jobId: spec.id, memoryMb: spec.leaseMb, waitSeconds: 42 });
    expect(state.status).toBe("failed");
    expect(state.error).toMatch(/training lease refused: cuda:0 not clear after 42 s/);
  });
});
