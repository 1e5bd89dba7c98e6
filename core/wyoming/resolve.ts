/**
 * A Wyoming `voice` -> the engine, voice and options of a speech job. Names resolve as on the
 * OpenAI route: `engine:voice` picks the engine too; an engine id alone means its default
 * voice; a bare voice id is looked up among the listed voices. `speaker` goes to the engine's
 * `speaker` option when its manifest declares one (multi-speaker voices).
 */
import { ChorusError } from "../errors.ts";
import type { Registry } from "../registry/registry.ts";
import type { VoiceRequest } from "./events.ts";
import { wyomingLanguage, type VoiceDirectory } from "./voices.ts";

export interface WyomingTarget {
  engine: string;
  voice: string | undefined;
  options: Record<string, unknown> | undefined;
  /** Set when the request named a speaker this engine cannot take (it is then ignored). */
  ignoredSpeaker?: string;
}

export function resolveVoice(request: VoiceRequest, registry: Registry, voices: VoiceDirectory): WyomingTarget {
  const base = pick(request, registry, voices);
  if (!request.speaker) return base;
  const spec = registry.manifest(base.engine)?.options.speaker;
  if (spec?.type !== "string") return { ...base, ignoredSpeaker: request.speaker };
  return { ...base, options: { speaker: request.speaker } };
}

function pick(request: VoiceRequest, registry: Registry, voices: VoiceDirectory): WyomingTarget {
  const fallbackEngine = registry.selection.current();
  const name = request.name;
  if (name) {
    const colon = name.indexOf(":");
    if (colon > 0) {
      // engine ids are lower case; `FLITE:KAL16` names flite, as `chorus` and the HTTP APIs read it
      const engine = name.slice(0, colon).trim().toLowerCase();
      const entry = registry.get(engine);
      if (!entry)
        throw new ChorusError("CHORUS_ERR_ENGINE_NOT_FOUND", `voice '${name}' names engine '${engine}', which is not installed`, { field: "voice.name" });
      if (entry.status !== "available")
        throw new ChorusError("CHORUS_ERR_ENGINE_UNAVAILABLE", `voice '${name}': engine '${engine}' failed to load: ${entry.error}`, { field: "voice.name" });
      // Listed names match whatever their case (`Flite:SLT`), as bare voice ids do.
      const listed = voices.find(name);
      if (listed) return { engine: listed.engine, voice: listed.voice, options: undefined };
      return { engine, voice: name.slice(colon + 1).trim() || undefined, options: undefined };
    }
    if (registry.manifest(name)) return { engine: name, voice: undefined, options: undefined };
    const listed = voices.find(name);
    if (listed) return { engine: listed.engine, voice: listed.voice, options: undefined };
    throw new ChorusError("CHORUS_ERR_VOICE_NOT_FOUND", `no voice '${name}' (describe lists the voices as engine:voice)`, { field: "voice.name" });
  }
  if (request.language) {
    const wanted = wyomingLanguage(request.language).toLowerCase();
    const all = voices.list();
    const matches = (v: { languages: string[] }, exact: boolean) =>
      v.languages.some((l) => (exact ? l.toLowerCase() === wanted : l.toLowerCase().split("_")[0] === wanted.split("_")[0]));
    const ordered = [...all.filter((v) => v.engine === fallbackEngine), ...all.filter((v) => v.engine !== fallbackEngine)];
    const found = ordered.find((v) => matches(v, true)) ?? ordered.find((v) => matches(v, false));
    if (!found) throw new ChorusError("CHORUS_ERR_VOICE_NOT_FOUND", `no voice for language '${request.language}'`, { field: "voice.language" });
    return { engine: found.engine, voice: found.voice, options: undefined };
  }
  return { engine: fallbackEngine, voice: undefined, options: undefined };
}
