/**
 * How Chorus trains XTTS v2: the coqui-tts GPT trainer worker (core/finetune/trainer/worker.py),
 * its environment (torch with CUDA, coqui-tts), and the model files a base model needs and a
 * result folder gets.
 */
import { fileURLToPath } from "node:url";
import path from "node:path";
import type { TrainerRuntime } from "../model.ts";

const TRAINER_DIR = fileURLToPath(new URL("../trainer", import.meta.url));

export const xttsV2Runtime: TrainerRuntime = {
  workerScript: path.join(TRAINER_DIR, "worker.py"),
  environment: {
    id: "finetune-xtts",
    baseDir: TRAINER_DIR,
    python: {
      version: ">=3.10,<3.14",
      requirements: "requirements.txt",
      // The CUDA build even where no GPU is seen now: the trainer needs one (`--torch cpu` for trying the commands only).
      torch: { build: "cuda", cuda: "cu128", version: ">=2.1,<2.9", packages: ["torch", "torchaudio"] },
    },
  },
  baseModelFiles: ["config.json", "model.pth", "vocab.json", "speakers_xtts.pth", "dvae.pth", "mel_stats.pth"],
  copiedFiles: ["config.json", "vocab.json", "speakers_xtts.pth", "dvae.pth", "mel_stats.pth"],
  baseModelHint: "chorus xtts download --accept-license --finetune-files fetches them",
};
