/**
 * The OpenAI model and voice names, gathered from the engines (each manifest's
 * `aliases.openai`) with the configuration (`compat.openai.models`/`voices`) over them. So the
 * core names no engine: eSpeak contributes `tts-1` and the voice table, another engine its own.
 * When two engines claim a model name, the first found (in `engines.dirs` order) keeps it.
 */
import type { CompatConfig } from "../../config/compat-schema.ts";
import type { Registry } from "../../registry/registry.ts";

export interface ModelTarget {
  engine: string;
  voice?: string;
}

export type VoiceTable = Record<string, Record<string, { voice: string; options?: Record<string, unknown> }>>;

export interface OpenAITables {
  models: Record<string, ModelTarget>;
  /** OpenAI voice name -> engine id -> that engine's voice. */
  voices: VoiceTable;
}

export function openaiTables(compat: CompatConfig, registry: Registry): OpenAITables {
  const models: Record<string, ModelTarget> = {};
  const voices: VoiceTable = {};
  for (const entry of registry.list()) {
    if (entry.status !== "available") continue;
    const aliases = entry.manifest.aliases.openai;
    for (const name of aliases.models) models[name] ??= { engine: entry.id };
    for (const [name, alias] of Object.entries(aliases.voices)) (voices[name] ??= {})[entry.id] = alias;
  }
  Object.assign(models, compat.openai.models);
  for (const [name, perEngine] of Object.entries(compat.openai.voices)) voices[name] = { ...voices[name], ...perEngine };
  return { models, voices };
}
