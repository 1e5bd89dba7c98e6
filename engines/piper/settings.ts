/**
 * The Piper engine's settings (host config `engines.settings.piper`), validated with zod.
 * Relative voice directories resolve against the working directory.
 */
import path from "node:path";
import { z } from "zod";
import { EngineError } from "chorus/sdk";

export const PiperSettingsSchema = z.strictObject({
  /** Directories holding NAME.onnx + NAME.onnx.json pairs; the first is where installs go. */
  voiceDirs: z.array(z.string().min(1)).min(1).default(["voices/piper"]),
  /** Silence between sentences, seconds (Piper's C++ program uses 0.2). */
  sentenceSilenceSeconds: z.number().min(0).max(10).default(0.2),
  /** onnxruntime intra-op threads; 0 = onnxruntime's default (one per physical core). */
  threads: z.number().int().min(0).max(256).default(0),
  interOpThreads: z.number().int().min(0).max(256).default(0),
  graphOptimization: z.enum(["disabled", "basic", "extended", "all"]).default("all"),
  /**
   * Let onnxruntime's threads spin-wait for the next piece of work instead of sleeping. Off by
   * default: in a host running several engines, spinning threads burn the cores other engines
   * and the event loop need (measured: ~36 ms of CPU per 100 ms idle after each sentence on the
   * generated bench voice, with no faster runs). Turn on for a machine that runs only Piper.
   */
  spinWait: z.boolean().default(false),
  /** Voice models kept open at once (least recently used closed first). */
  maxLoadedVoices: z.number().int().positive().default(4),
  /** Watch the voice directories for added or removed voices. */
  watch: z.boolean().default(true),
  /**
   * Where `chorus voices install NAME` looks voices up: the piper-voices collection, or a
   * mirror of it with the same layout (e.g. https://hf-mirror.com/rhasspy/piper-voices/resolve/main).
   */
  voiceCollectionUrl: z.url().default("https://huggingface.co/rhasspy/piper-voices/resolve/main"),
});
export type PiperSettings = z.infer<typeof PiperSettingsSchema>;

export function parseSettings(raw: Record<string, unknown>, cwd = process.cwd()): PiperSettings {
  const result = PiperSettingsSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new EngineError("ENGINE_FAILED", `invalid piper settings (engines.settings.piper): ${issues}`);
  }
  return { ...result.data, voiceDirs: result.data.voiceDirs.map((d) => path.resolve(cwd, d)) };
}
