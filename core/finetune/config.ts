/** The `finetune` section of the configuration (docs/finetune.md). */
import { z } from "zod";

export const FinetuneSchema = z.strictObject({
  /**
   * Folders whose datasets POST /api/finetune/check and /plan may read (relative to the Chorus
   * root). Empty: the API reads no dataset at all.
   */
  datasetDirs: z.array(z.string().min(1)).default([]),
  /** Python interpreter for the faster-whisper transcriber of `chorus finetune prepare`. */
  python: z.string().min(1).default("python3"),
  /** faster-whisper model size (AllTalk v1 defaults to large-v2). */
  whisperModel: z.string().min(1).default("large-v2"),
});
export type FinetuneConfig = z.infer<typeof FinetuneSchema>;
