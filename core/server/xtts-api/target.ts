/**
 * Which engine serves the xtts-api-server API, what `speaker_wav` means, and how the API's
 * settings reach the engine. The state is per process, as xtts-api-server's settings are
 * global: shared by Chorus's port and the second listener.
 *
 * - Engine: the one chosen by /switch_model, else `compat.xttsApi.engine`, else an installed
 *   engine whose manifest says it clones voices (`xtts` first), else the host's default engine.
 * - `speaker_wav`: a speaker (voice id or name of the serving engine), `engine:voice`
 *   (`engine:` alone: its default voice), or a
 *   clip name (`female.wav`, `set/female.wav`, an absolute path inside the speaker folder),
 *   which names the voice of the same name. Paths outside the speaker folder are refused.
 * - Settings: passed as engine options where the engine's manifest declares an option of that
 *   name (`top_k`, `topK`, ... match); `speed` as the request speed when the engine has `speed`.
 */
import path from "node:path";
import type { Registry } from "../../registry/registry.ts";
import type { Manifest } from "../../../packages/sdk/src/index.ts";
import type { Config } from "../../config/schema.ts";
import { ChorusError } from "../../errors.ts";
import { PROSODY_MIN } from "../../request/speech-request.ts";
import { defaultSettings, type TtsSettings } from "./fields.ts";
import { folderRoots, hasDotDot, isInside, type FolderRoots } from "./folders.ts";

export interface XttsState {
  settings: TtsSettings;
  speakerFolder: string;
  outputFolder: string;
  /** Engine chosen with /switch_model (an engine id). */
  engine?: string;
  /** Model folder chosen with /switch_model, passed as option `model` when the engine has one. */
  model?: string;
  roots: FolderRoots;
}

export function createState(config: Config): XttsState {
  const roots = folderRoots(config);
  return { settings: defaultSettings(), speakerFolder: roots.speakerRoot, outputFolder: roots.outputRoot, roots };
}

/** The engine id behind the API now. */
export function servingEngine(state: XttsState, registry: Registry, config: Config): string {
  if (state.engine && registry.get(state.engine)) return state.engine;
  const configured = config.compat.xttsApi.engine;
  if (configured) return configured;
  // manifest() is set only for engines that can run now (not failed, not waiting for setup).
  const cloning = registry
    .list()
    .map((e) => e.id)
    .filter((id) => registry.manifest(id)?.capabilities.voiceCloning)
    .sort((a, b) => (a === "xtts" ? -1 : b === "xtts" ? 1 : a.localeCompare(b)));
  if (cloning.length) return cloning[0]!;
  return registry.selection.current();
}

export interface Target {
  engine: string;
  /** undefined: the engine's default voice. */
  voice: string | undefined;
}

/** What `speakerTarget` finds: also whether the engine came from the speaker (VoiceTarget.engineFromVoice, voices/reference.ts). */
export interface SpeakerTarget extends Target {
  /** `engine:voice` named an engine other than the serving one: its errors are about `speaker_wav`. */
  engineFromVoice?: boolean;
}

/** `speaker_wav` -> engine and voice. Throws 400 for a path outside the speaker folder. */
export function resolveSpeaker(speakerWav: string, state: XttsState, registry: Registry, config: Config): Target {
  const { engine, voice } = speakerTarget(speakerWav, state, registry, config);
  return { engine, voice };
}

/** `resolveSpeaker`, saying too whether `engine:voice` picked the engine (`engineFromVoice`). */
export function speakerTarget(speakerWav: string, state: XttsState, registry: Registry, config: Config): SpeakerTarget {
  const engine = servingEngine(state, registry, config);
  let value = speakerWav.trim();
  if (!value) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "speaker_wav: give a speaker name (GET /speakers lists them)", { field: "speaker_wav" });
  const colon = value.indexOf(":");
  // `engine:voice`, but not a Windows path (`C:\...`).
  if (colon > 0 && !/^[A-Za-z]:[\\/]/.test(value)) {
    const id = value.slice(0, colon);
    if (registry.get(id)) {
      // `engine:` alone is that engine's default voice.
      const voice = value
        .slice(colon + 1)
        .trim()
        .replace(/\.wav$/i, "");
      return id === engine ? { engine, voice: voice || undefined } : { engine: id, voice: voice || undefined, engineFromVoice: true };
    }
  }
  if (/\.wav$/i.test(value)) {
    if (hasDotDot(value)) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "speaker_wav: '..' is not allowed in paths", { field: "speaker_wav" });
    if (path.isAbsolute(value) || /^[A-Za-z]:[\\/]/.test(value)) {
      const full = path.resolve(value);
      if (!isInside(state.speakerFolder, full)) {
        throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `speaker_wav: '${value}' is outside the speaker folder (GET /get_folders)`, {
          field: "speaker_wav",
        });
      }
      value = path.relative(state.speakerFolder, full);
    }
    // `female.wav` -> `female`; `set/a.wav` (a clip of a voice set) -> `set`.
    const parts = value
      .replace(/\.wav$/i, "")
      .split(/[\\/]+/)
      .filter(Boolean);
    value = parts.length > 1 ? parts[0]! : (parts[0] ?? "");
  }
  return { engine, voice: value };
}

const norm = (name: string) => name.toLowerCase().replace(/[_-]/g, "");

/** Engine options from the API's settings (and language, model), for the options the engine declares. */
export function engineOptions(
  manifest: Manifest | undefined,
  settings: TtsSettings,
  extra: { language?: string; model?: string; streaming: boolean },
): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (!manifest) return options;
  const declared = new Map(Object.keys(manifest.options).map((k) => [norm(k), k]));
  const put = (name: string, value: unknown) => {
    const key = declared.get(norm(name));
    if (key !== undefined && value !== undefined) options[key] = value;
  };
  for (const name of ["temperature", "length_penalty", "repetition_penalty", "top_k", "top_p", "enable_text_splitting"] as const) put(name, settings[name]);
  if (extra.streaming) put("stream_chunk_size", settings.stream_chunk_size);
  if (!manifest.capabilities.speed) put("speed", settings.speed);
  put("language", extra.language);
  put("model", extra.model);
  return options;
}

/** The request speed for the engine, when it takes one. */
export function engineSpeed(manifest: Manifest | undefined, settings: TtsSettings): number | undefined {
  // xtts-api-server allows 0.2; the request's floor is PROSODY_MIN (0.25): a translation, not a refusal.
  return manifest?.capabilities.speed ? Math.max(PROSODY_MIN, settings.speed) : undefined;
}
