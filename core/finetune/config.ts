/** The `finetune` section of the configuration (docs/finetune.md). */
import { z } from "zod";

/** `finetune.runner`: the training runner (docs/finetune.md, "Running a fine-tune"). */
export const RunnerSchema = z.strictObject({
  /** Job folders (job.json, log.jsonl, checkpoints); default `<dataDir>/finetune/jobs`. */
  jobsDir: z.string().min(1).optional(),
  /** Folders POST /api/finetune/jobs may read base models from and write results to (relative to the Chorus root). */
  modelDirs: z.array(z.string().min(1)).default(["models"]),
  /** An interpreter with torch + coqui-tts to use instead of the managed `finetune-xtts` environment. */
  python: z.string().min(1).optional(),
  /** The worker script (default: Chorus's coqui-tts worker, core/finetune/trainer/worker.py). */
  worker: z.string().min(1).optional(),
  /** Extra environment variables for the worker. */
  env: z.record(z.string(), z.string()).default({}),
  epochs: z.number().int().min(1).max(1000).default(10),
  /** A checkpoint every N training steps (batches, as the trainer counts them), and one at the end of every epoch. */
  saveEverySteps: z.number().int().min(1).default(500),
  /** Out-of-memory errors a job may recover from before it gives up. */
  maxOomRetries: z.number().int().min(0).max(50).default(6),
  /** The shortest clip cap recovery may lower to, seconds. */
  minClipSeconds: z.number().min(1).max(30).default(6),
  /**
   * torch.cuda.set_per_process_memory_fraction for the worker. Default: 0.95 on Windows (the
   * job runs out of memory, and is re-planned, instead of spilling into system RAM at a tenth
   * of the speed), none elsewhere. `1` on Windows allows the spill.
   */
  memoryFraction: z.number().min(0.1).max(1).optional(),
  /** How long a job waits for busy engines on its GPU to finish, seconds. */
  leaseWaitSeconds: z.number().min(1).default(300),
  /** Steps of the probe (`chorus finetune probe`). */
  probeSteps: z.number().int().min(1).max(20).default(2),
});

export const FinetuneSchema = z.strictObject({
  /**
   * Folders whose datasets POST /api/finetune/check and /plan may read (relative to the Chorus
   * root). Empty: the API reads no dataset at all.
   */
  datasetDirs: z.array(z.string().min(1)).default([]),
  /**
   * Python interpreter for the faster-whisper transcriber of `chorus finetune prepare`. Unset:
   * Chorus builds and uses a managed environment `<dataDir>/python/faster-whisper` (core/python).
   */
  python: z.string().min(1).optional(),
  /** faster-whisper model size (AllTalk v1 defaults to large-v2). */
  whisperModel: z.string().min(1).default("large-v2"),
  runner: RunnerSchema.default(RunnerSchema.parse({})),
});
export type FinetuneConfig = z.infer<typeof FinetuneSchema>;
