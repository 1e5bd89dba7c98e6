/**
 * Wyoming event payloads: the `info` Chorus answers `describe` with, and the fields of the
 * `synthesize*` events it reads (unknown fields ignored, as the Python library does).
 */
import fs from "node:fs";
import path from "node:path";
import { CHORUS_ROOT } from "../config/load.ts";
import { ChorusError } from "../errors.ts";
import type { ListedVoice } from "./voices.ts";

/** Chorus has no public home page of its own to point to; the library allows an empty url. */
const ATTRIBUTION = { name: "Chorus", url: "" };

let version: string | null | undefined;
function chorusVersion(): string | null {
  if (version === undefined) {
    try {
      version = (JSON.parse(fs.readFileSync(path.join(CHORUS_ROOT, "package.json"), "utf8")) as { version?: string }).version ?? null;
    } catch {
      version = null;
    }
  }
  return version;
}

/** `info` data: one installed TTS program, "chorus", with every listed voice; the other lists empty. */
export function infoData(voices: ListedVoice[]): Record<string, unknown> {
  return {
    asr: [],
    tts: [
      {
        name: "chorus",
        attribution: ATTRIBUTION,
        installed: true,
        description: "Chorus: the voices of every installed text-to-speech engine",
        version: chorusVersion(),
        voices: voices.map((v) => ({
          name: v.name,
          attribution: { name: v.engineName, url: "" },
          installed: true,
          description: v.description,
          version: v.version,
          languages: v.languages,
          speakers: v.speakers ? v.speakers.map((name) => ({ name })) : null,
        })),
        supports_synthesize_streaming: true,
      },
    ],
    handle: [],
    intent: [],
    wake: [],
    mic: [],
    snd: [],
  };
}

/** `voice` of a synthesize event: `{name, speaker}` (Home Assistant), `{language}`, or nothing. */
export interface VoiceRequest {
  name?: string;
  speaker?: string;
  language?: string;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" && field === "voice.speaker") return String(value);
  if (typeof value !== "string") throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${field}: must be a string`, { field });
  return value.trim() || undefined;
}

export function readVoice(data: Record<string, unknown>): VoiceRequest {
  const voice = data.voice;
  if (voice === undefined || voice === null) return {};
  if (typeof voice !== "object" || Array.isArray(voice))
    throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "voice: must be an object {name, speaker} or {language}", { field: "voice" });
  const v = voice as Record<string, unknown>;
  const name = optionalString(v.name, "voice.name");
  // As in the library: a name wins over a language.
  if (name) return { name, speaker: optionalString(v.speaker, "voice.speaker") };
  const language = optionalString(v.language, "voice.language");
  return language ? { language } : {};
}

/** `text` of a synthesize or synthesize-chunk event (required, a string). */
export function readText(data: Record<string, unknown>): string {
  if (typeof data.text !== "string") throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "text: is required and must be a string", { field: "text" });
  return data.text;
}
