/**
 * The trainer worker's Python: the managed `finetune-xtts` environment (core/python: a venv in
 * the data folder with torch for CUDA and coqui-tts, built by `chorus finetune setup`), or an
 * interpreter named in `finetune.runner.python`.
 */
import { fileURLToPath } from "node:url";
import path from "node:path";
import { resolvePath } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import { envsRoot, envStatus, type EnvSpec } from "../../python/index.ts";
import type { WorkerLauncher } from "./job.ts";

export const TRAINER_DIR = fileURLToPath(new URL("../trainer", import.meta.url));
export const WORKER_SCRIPT = path.join(TRAINER_DIR, "worker.py");

export const TRAINER_ENV: EnvSpec = {
  id: "finetune-xtts",
  baseDir: TRAINER_DIR,
  python: {
    version: ">=3.10,<3.14",
    requirements: "requirements.txt",
    // The CUDA build even where no GPU is seen now: the trainer needs one (`--torch cpu` for trying the commands only).
    torch: { build: "cuda", cuda: "cu128", version: ">=2.1,<2.9", packages: ["torch", "torchaudio"] },
  },
};

export class TrainerEnvironmentError extends Error {}

/** The interpreter to run the worker with; throws saying how to set it up. */
export function trainerPython(config: Config): string {
  const named = config.finetune.runner.python;
  // A bare name ("python3") is looked up on PATH; a path is relative to the Chorus root.
  if (named) return /[\\/]/.test(named) ? resolvePath(named) : named;
  const status = envStatus(TRAINER_ENV, envsRoot(config, resolvePath));
  if (status.state === "ready") return status.python;
  throw new TrainerEnvironmentError(`the fine-tune environment is ${status.state} (${status.reason}); set it up with: chorus finetune setup (torch with CUDA and coqui-tts, docs/finetune.md), or set finetune.runner.python to an interpreter that has them`);
}

export function configLauncher(config: Config): WorkerLauncher {
  return async (jobFile) => ({
    command: trainerPython(config),
    args: [config.finetune.runner.worker ? resolvePath(config.finetune.runner.worker) : WORKER_SCRIPT, "--job", jobFile],
    env: { ...config.finetune.runner.env },
  });
}

export function jobsRoot(config: Config): string {
  return config.finetune.runner.jobsDir ? resolvePath(config.finetune.runner.jobsDir) : path.join(resolvePath(config.dataDir), "finetune", "jobs");
}

export function probesRoot(config: Config): string {
  return path.join(resolvePath(config.dataDir), "finetune", "probes");
}
