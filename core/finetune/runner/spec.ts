/**
 * From "fine-tune this dataset on this base model into this folder" to a job spec: the dataset
 * is checked (the clips the trainer would see, which are clean), the base model folder must be
 * complete, and the settings come from a plan: a `chorus finetune plan --json` file, or a plan
 * made now for the card the job will lease (Chorus's own engines left out of the budget,
 * because the lease moves them aside).
 */
import fs from "node:fs";
import path from "node:path";
import type { Config } from "../../config/schema.ts";
import { checkDataset, type CheckReport } from "../check.ts";
import type { GpuInfo } from "../gpu.ts";
import { trainableModel } from "../models/index.ts";
import { hostOs, planFromReport, SAFETY_MB, trainerMemoryFraction, type Plan } from "../plan.ts";
import { probesRoot } from "./environment.ts";
import { loadProbe } from "./probes.ts";
import { checkBaseModel } from "./result.ts";
import { newJobId, type JobSpec } from "./store.ts";

export interface PlanOptions {
  os?: "linux" | "windows";
  attention?: "auto" | "eager" | "sdpa";
  effectiveBatch?: number;
  maxClipSeconds?: number;
}

export interface JobRequest {
  mode: "train" | "probe";
  datasetDir: string;
  baseModelDir: string;
  /** Required for training; a probe writes no model. */
  outDir?: string;
  /** A saved `chorus finetune plan --json` result. */
  plan?: Pick<Plan, "fits" | "batchSize" | "gradAccumSteps" | "maxClipSeconds" | "learningRate" | "trainerConfig"> & {
    predicted: { deviceMb: number };
    gpu?: { name: string };
  };
  planOptions?: PlanOptions;
  gpu?: string;
  epochs?: number;
  language?: string;
  model?: string;
}

export class JobRequestError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** Clips with no finding of any severity above info are candidate reference clips. */
function clipsOf(report: CheckReport) {
  const flagged = new Set(report.findings.filter((f) => f.clip && f.severity !== "info").map((f) => f.clip!));
  return report.clips
    .filter((c) => c.seconds !== undefined)
    .map((c) => ({ clip: c.clip, seconds: c.seconds!, split: c.split, clean: c.kept && !flagged.has(c.clip) }));
}

export async function buildSpec(req: JobRequest, config: Config, gpu: () => Promise<GpuInfo>): Promise<JobSpec> {
  const r = config.finetune.runner;
  if (req.mode === "train" && !req.outDir) throw new JobRequestError("an output folder is needed (--out DIR)", "out");
  const model = trainableModel(req.model);
  try {
    if (!model.runtime) throw new Error(`${model.name} can be planned for, but Chorus has no trainer for it`);
    checkBaseModel(req.baseModelDir, model.runtime);
  } catch (err) {
    throw new JobRequestError((err as Error).message, "baseModel");
  }
  for (const csv of ["metadata_train.csv", "metadata_eval.csv"]) {
    if (!fs.existsSync(path.join(req.datasetDir, csv)))
      throw new JobRequestError(`${req.datasetDir} has no ${csv}: the trainer reads the coqui/AllTalk format (chorus finetune prepare writes it)`, "dataset");
  }
  if (req.outDir && fs.existsSync(req.outDir) && fs.readdirSync(req.outDir).length)
    throw new JobRequestError(`${req.outDir} is not empty; choose a new output folder`, "out");
  const report = await checkDataset(req.datasetDir, {
    model,
    language: req.language,
    modelDir: req.baseModelDir,
    maxClipSeconds: req.planOptions?.maxClipSeconds,
  });
  if (!report.totals.keptTrainClips) throw new JobRequestError(`no training clip in ${req.datasetDir} is usable: ${report.summary}`, "dataset");
  let plan = req.plan;
  let card = plan?.gpu?.name ?? "unknown card";
  if (!plan) {
    const info = { ...(await gpu()), chorusMb: 0 };
    card = info.name;
    const o = req.planOptions ?? {};
    const probe = loadProbe(probesRoot(config), info.name, model.id);
    plan = planFromReport(report, model, {
      gpu: info,
      os: o.os ?? hostOs(),
      // the cap the worker here will apply (by this machine's platform)
      memoryFraction: trainerMemoryFraction(r.memoryFraction, hostOs()),
      attention: o.attention ?? "auto",
      effectiveBatch: o.effectiveBatch ?? 4,
      probe,
    });
    if (!plan.fits)
      throw new JobRequestError(
        `the plan does not fit ${info.name}: ${[...(plan as Plan).warnings.slice(-1), ...(plan as Plan).alternatives].join("; ")}`,
        "plan",
      );
  } else if (!plan.fits) throw new JobRequestError("the plan file says it does not fit (fits: false); make a plan that fits first", "plan");
  const dir = (p: string) => path.resolve(p);
  return {
    id: newJobId(),
    mode: req.mode,
    model: model.id,
    datasetDir: dir(req.datasetDir),
    trainCsv: "metadata_train.csv",
    evalCsv: "metadata_eval.csv",
    language: report.language,
    baseModelDir: dir(req.baseModelDir),
    outDir: dir(req.outDir ?? path.join(req.baseModelDir, ".probe")),
    gpu: req.gpu ?? "auto",
    epochs: req.epochs ?? r.epochs,
    saveEverySteps: r.saveEverySteps,
    trainerConfig: plan.trainerConfig,
    planned: { batchSize: plan.batchSize, gradAccumSteps: plan.gradAccumSteps, maxClipSeconds: plan.maxClipSeconds, learningRate: plan.learningRate },
    predictedMb: Math.round(plan.predicted.deviceMb),
    leaseMb: Math.ceil(plan.predicted.deviceMb + SAFETY_MB),
    clips: clipsOf(report),
    maxOomRetries: r.maxOomRetries,
    leaseWaitSeconds: r.leaseWaitSeconds,
    minClipSeconds: r.minClipSeconds,
    memoryFraction: trainerMemoryFraction(r.memoryFraction, hostOs()),
    probeSteps: r.probeSteps,
    card,
  };
}
