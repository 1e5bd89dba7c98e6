/**
 * OpenAI model and voice names -> Chorus engine, voice and engine options.
 * - model: a model name an engine contributes or the configuration maps (`tts-1`, ...), or
 *   any installed engine id.
 * - voice: `engine:voice` (picks the engine too), an alias name (alloy, nova, ...; matched
 *   case-insensitively after trimming, since clients send " nova"), or an engine voice id.
 */
import { ChorusError } from "../../errors.ts";
import type { Registry } from "../../registry/registry.ts";
import { resolveVoiceRef } from "../../voices/reference.ts";
import type { OpenAITables } from "./aliases.ts";

export interface SpeechTarget {
  engine: string;
  voice: string | undefined;
  options: Record<string, unknown> | undefined;
  /** The engine came from the voice (`engine:voice`), not from the model (voices/reference.ts). */
  engineFromVoice?: boolean;
}

export function resolveTarget(tables: OpenAITables, registry: Registry, model: string, rawVoice: string): SpeechTarget {
  const models = tables.models;
  const modelName = model.trim();
  const mapped = models[modelName] ?? models[modelName.toLowerCase()];
  let engine: string;
  let defaultVoice: string | undefined;
  if (mapped) {
    engine = mapped.engine;
    defaultVoice = mapped.voice;
  } else if (registry.get(modelName)) {
    engine = modelName;
  } else {
    throw new ChorusError("CHORUS_ERR_ENGINE_NOT_FOUND", `model '${modelName}' does not exist (GET /v1/models lists them)`, { field: "model" });
  }

  const voice = rawVoice.trim();
  // `engine:voice` (the same rule on every surface: voices/reference.ts) picks the engine too.
  const ref = resolveVoiceRef(registry, voice, engine);
  if (ref.engine !== engine || ref.voice !== voice) return { engine: ref.engine!, voice: ref.voice, options: undefined, engineFromVoice: ref.engineFromVoice };
  const table = lookupVoice(tables, voice);
  if (table) {
    const entry = table[engine];
    return { engine, voice: entry?.voice ?? defaultVoice, options: entry?.options };
  }
  return { engine, voice, options: undefined };
}

function lookupVoice(tables: OpenAITables, name: string) {
  const voices = tables.voices;
  if (voices[name]) return voices[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(voices)) if (key.toLowerCase() === lower) return value;
  return undefined;
}
