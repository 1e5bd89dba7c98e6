/**
 * The trainer worker's Python: the model's managed environment (core/python: a venv in the data
 * folder, e.g. `finetune-xtts` with torch for CUDA and coqui-tts, built by `chorus finetune
 * setup`), or an interpreter named in `finetune.runner.python`.
 */
import path from "node:path";
import { resolvePath } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import { envsRoot, envStatus } from "../../python/index.ts";
import type { TrainerRuntime } from "../model.ts";
import { trainableModel } from "../models/index.ts";

export interface WorkerCommand {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** How to start the worker for a job file (the managed Python environment in production; a stand-in in tests). */
export type WorkerLauncher = (jobFile: string, modelId: string) => Promise<WorkerCommand>;

export class TrainerEnvironmentError extends Error {}

/** The model's trainer runtime; throws when Chorus cannot train it. */
export function runtimeOf(modelId: string): TrainerRuntime {
  const model = trainableModel(modelId);
  if (!model.runtime) throw new TrainerEnvironmentError(`${model.name} can be planned for but Chorus has no trainer for it`);
  return model.runtime;
}

/** The interpreter to run the worker with; throws saying how to set it up. */
export function trainerPython(config: Config, runtime: TrainerRuntime): string {
  const named = config.finetune.runner.python;
  // A bare name ("python3") is looked up on PATH; a path is relative to the Chorus root.
  if (named) return /[\\/]/.test(named) ? resolvePath(named) : named;
  const status = envStatus(runtime.environment, envsRoot(config, resolvePath));
  if (status.state === "ready") return status.python;
  throw new TrainerEnvironmentError(
    `the fine-tune environment ${runtime.environment.id} is ${status.state} (${status.reason}); set it up with: chorus finetune setup (docs/finetune.md), or set finetune.runner.python to an interpreter that has torch and the trainer`,
  );
}

export function configLauncher(config: Config): WorkerLauncher {
  return async (jobFile, modelId) => {
    const runtime = runtimeOf(modelId);
    return {
      command: trainerPython(config, runtime),
      args: [config.finetune.runner.worker ? resolvePath(config.finetune.runner.worker) : runtime.workerScript, "--job", jobFile],
      env: { ...config.finetune.runner.env },
    };
  };
}

export function jobsRoot(config: Config): string {
  return config.finetune.runner.jobsDir ? resolvePath(config.finetune.runner.jobsDir) : path.join(resolvePath(config.dataDir), "finetune", "jobs");
}

export function probesRoot(config: Config): string {
  return path.join(resolvePath(config.dataDir), "finetune", "probes");
}
