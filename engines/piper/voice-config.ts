/**
 * A Piper voice's `NAME.onnx.json`, validated as Piper reads it: `audio.sample_rate`,
 * `espeak.voice`, `phoneme_id_map`, `num_symbols`, `num_speakers` required; inference scales,
 * `phoneme_type` and `speaker_id_map` optional with Piper's defaults. Informational fields
 * (`dataset`, `language`, `audio.quality`, ...) are kept but not used.
 */
import fs from "node:fs";
import { z } from "zod";

export const PIPER_DEFAULTS = { noiseScale: 0.667, lengthScale: 1, noiseW: 0.8 } as const;

const nonNegativeInt = z.number().int().nonnegative();

export const VoiceConfigSchema = z.looseObject({
  audio: z.looseObject({
    sample_rate: z.number().int().positive(),
    quality: z.string().optional(),
  }),
  espeak: z.looseObject({ voice: z.string().min(1) }),
  inference: z
    .looseObject({
      noise_scale: z.number().nonnegative().default(PIPER_DEFAULTS.noiseScale),
      length_scale: z.number().positive().default(PIPER_DEFAULTS.lengthScale),
      noise_w: z.number().nonnegative().default(PIPER_DEFAULTS.noiseW),
    })
    .default({ noise_scale: PIPER_DEFAULTS.noiseScale, length_scale: PIPER_DEFAULTS.lengthScale, noise_w: PIPER_DEFAULTS.noiseW }),
  phoneme_type: z.enum(["espeak", "text"]).default("espeak"),
  num_symbols: z.number().int().positive(),
  num_speakers: z.number().int().positive(),
  speaker_id_map: z.record(z.string(), nonNegativeInt).default({}),
  phoneme_id_map: z.record(z.string(), z.array(nonNegativeInt)),
  /** Optional phoneme -> phonemes replacements applied after phonemization (usually empty). */
  phoneme_map: z.record(z.string(), z.array(z.string())).default({}),
  language: z.looseObject({ code: z.string().optional() }).optional(),
  dataset: z.string().optional(),
});
export type VoiceConfig = z.infer<typeof VoiceConfigSchema>;

export class VoiceConfigError extends Error {
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = "VoiceConfigError";
  }
}

/** Validates parsed JSON; throws `VoiceConfigError` naming the file and every bad field. */
export function parseVoiceConfig(json: unknown, file = "voice config"): VoiceConfig {
  const result = VoiceConfigSchema.safeParse(json);
  if (!result.success) {
    const reasons = result.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
    throw new VoiceConfigError(file, reasons.join("; "));
  }
  const config = result.data;
  for (const required of ["^", "_", "$"]) {
    if (!config.phoneme_id_map[required]?.length) {
      throw new VoiceConfigError(file, `phoneme_id_map: missing '${required}'`);
    }
  }
  for (const [name, id] of Object.entries(config.speaker_id_map)) {
    if (id >= config.num_speakers) {
      throw new VoiceConfigError(file, `speaker_id_map.${name}: id ${id} is not below num_speakers ${config.num_speakers}`);
    }
  }
  return config;
}

/** Reads and validates `file` (a `.onnx.json`). */
export function readVoiceConfig(file: string): VoiceConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new VoiceConfigError(file, `cannot read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new VoiceConfigError(file, `not valid JSON: ${(err as Error).message}`);
  }
  return parseVoiceConfig(json, file);
}
