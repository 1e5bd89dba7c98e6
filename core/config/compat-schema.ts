/**
 * Configuration of the compatibility surfaces (OpenAI and AllTalk APIs, CORS, API key): the
 * `compat` section of the main config schema (schema.ts).
 */
import { z } from "zod";

/** An engine voice, with engine options (e.g. an eSpeak variant) used with it. */
const EngineVoice = z.strictObject({
  voice: z.string().min(1),
  options: z.record(z.string(), z.unknown()).optional(),
});

const ModelTarget = z.strictObject({
  /** Engine id that serves this model name. */
  engine: z.string().min(1),
  /** Voice when the request's voice maps to nothing for this engine. */
  voice: z.string().min(1).optional(),
});

export const OpenAICompatSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /**
   * Model names -> engines, over those the engines contribute (manifest `aliases.openai.models`).
   * Any installed engine id also works as a model name.
   */
  models: z.record(z.string(), ModelTarget).default({}),
  /**
   * Voice names (matched case-insensitively, trimmed) -> engine id -> voice, over those the
   * engines contribute (manifest `aliases.openai.voices`). `engine:voice` always works.
   */
  voices: z.record(z.string(), z.record(z.string(), EngineVoice)).default({}),
  /** Longest `input`, characters (OpenAI's limit is 4096). */
  maxInput: z.number().int().positive().default(4096),
  /** Rate of `pcm` output (OpenAI sends 24 kHz; clients often assume it). null: the engine's own rate. */
  pcmSampleRate: z.number().int().min(8000).max(48000).nullable().default(24000),
});

export const AllTalkCompatSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Folder for generated files, relative to `dataDir`. */
  outputsDir: z.string().min(1).default("outputs"),
  /** Files older than this are deleted (minutes; 0 keeps them). */
  maxAgeMinutes: z.number().min(0).default(1440),
  /** The oldest files are deleted while the folder is larger than this (MB). */
  maxTotalMb: z.number().positive().default(500),
});

/** The xtts-api-server API (SillyTavern's XTTSv2 provider, KoboldAI Lite, Mantella): docs/compat.md. */
export const XttsApiCompatSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** A second listener serving only this API (xtts-api-server's default port is 8020); null: off. */
  port: z.number().int().min(0).max(65535).nullable().default(null),
  /** Engine behind it; null: an installed voice-cloning engine (`xtts` first), else the default engine. */
  engine: z.string().min(1).nullable().default(null),
  /** Reference clips served by /sample/ (relative to the Chorus root); /set_speaker_folder may pick a folder inside it. */
  speakerFolder: z.string().min(1).default("voices/xtts"),
  /** Where /tts_to_file writes (relative to `dataDir`); /set_output may pick a folder inside it. */
  outputFolder: z.string().min(1).default("xtts-output"),
  /** Model folders listed by /get_models_list besides the engine ids (relative to the Chorus root). */
  modelFolder: z.string().min(1).default("models/xtts"),
  /** Base of the preview URLs in /speakers (e.g. behind a proxy); null: the address the client used. */
  publicUrl: z.string().url().nullable().default(null),
});

export const CorsSchema = z.strictObject({
  /**
   * Allowed browser origins; `*` in an entry matches any run of characters except `/`
   * (`http://localhost:*`), a lone `*` allows every origin. Default: any port on localhost.
   */
  origins: z
    .array(z.string().min(1))
    .default([
      "http://localhost",
      "http://localhost:*",
      "http://127.0.0.1",
      "http://127.0.0.1:*",
      "http://[::1]",
      "http://[::1]:*",
      "https://localhost",
      "https://localhost:*",
    ]),
});

export const CompatSchema = z.strictObject({
  /** When non-empty, every route but /health requires `Authorization: Bearer <apiKey>`. */
  apiKey: z.string().default(""),
  cors: CorsSchema.default(CorsSchema.parse({})),
  openai: OpenAICompatSchema.default(OpenAICompatSchema.parse({})),
  alltalk: AllTalkCompatSchema.default(AllTalkCompatSchema.parse({})),
  xttsApi: XttsApiCompatSchema.default(XttsApiCompatSchema.parse({})),
});

export type CompatConfig = z.infer<typeof CompatSchema>;
