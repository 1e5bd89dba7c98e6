/**
 * Request models of xtts-api-server, validated as pydantic v2 (lax mode) does: every field
 * required, numeric strings accepted for numbers ("0.75", "50"), extra keys ignored; all
 * issues reported together (422). Range checks of the TTS settings are a separate 400.
 */
import { ChorusError } from "../../errors.ts";
import { ValidationFailed, type Issue } from "./errors.ts";

type Kind = "str" | "float" | "int" | "bool";
type Where = "body" | "query";
type Value<K extends Kind> = K extends "str" ? string : K extends "bool" ? boolean : number;
type Parsed<S extends Record<string, Kind>> = { [F in keyof S]: Value<S[F]> };

const TRUE = new Set(["true", "1", "yes", "y", "on", "t"]);
const FALSE = new Set(["false", "0", "no", "n", "off", "f"]);

function coerce(kind: Kind, value: unknown): { ok: true; value: unknown } | { ok: false; type: string; msg: string } {
  switch (kind) {
    case "str":
      return typeof value === "string" ? { ok: true, value } : { ok: false, type: "string_type", msg: "Input should be a valid string" };
    case "float": {
      if (typeof value === "number" && Number.isFinite(value)) return { ok: true, value };
      const n = typeof value === "string" && value.trim() !== "" ? Number(value.trim()) : NaN;
      if (Number.isFinite(n)) return { ok: true, value: n };
      return typeof value === "string"
        ? { ok: false, type: "float_parsing", msg: "Input should be a valid number, unable to parse string as a number" }
        : { ok: false, type: "float_type", msg: "Input should be a valid number" };
    }
    case "int": {
      const n = typeof value === "number" ? value : typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (Number.isSafeInteger(n)) return { ok: true, value: n };
      if (typeof value === "number" && Number.isFinite(value))
        return { ok: false, type: "int_from_float", msg: "Input should be a valid integer, got a number with a fractional part" };
      return typeof value === "string"
        ? { ok: false, type: "int_parsing", msg: "Input should be a valid integer, unable to parse string as an integer" }
        : { ok: false, type: "int_type", msg: "Input should be a valid integer" };
    }
    case "bool": {
      if (typeof value === "boolean") return { ok: true, value };
      if (value === 0 || value === 1) return { ok: true, value: value === 1 };
      const s = typeof value === "string" ? value.trim().toLowerCase() : undefined;
      if (s !== undefined && TRUE.has(s)) return { ok: true, value: true };
      if (s !== undefined && FALSE.has(s)) return { ok: true, value: false };
      return { ok: false, type: "bool_parsing", msg: "Input should be a valid boolean, unable to interpret input" };
    }
  }
}

/** Validates `source` against `schema`; throws ValidationFailed (422) listing every issue. */
export function parseModel<S extends Record<string, Kind>>(source: unknown, schema: S, where: Where): Parsed<S> {
  if (source === null || typeof source !== "object" || Array.isArray(source)) {
    throw new ValidationFailed([
      { type: "model_attributes_type", loc: [where], msg: "Input should be a valid dictionary or object to extract fields from", input: source ?? null },
    ]);
  }
  const record = source as Record<string, unknown>;
  const issues: Issue[] = [];
  const out: Record<string, unknown> = {};
  for (const [field, kind] of Object.entries(schema)) {
    let value = record[field];
    // A repeated query parameter arrives as an array: FastAPI takes the last one.
    if (where === "query" && Array.isArray(value)) value = value[value.length - 1];
    if (value === undefined) {
      issues.push({ type: "missing", loc: [where, field], msg: "Field required", input: where === "body" ? record : null });
      continue;
    }
    const result = coerce(kind, value);
    if (result.ok) out[field] = result.value;
    else issues.push({ type: result.type, loc: [where, field], msg: result.msg, input: value });
  }
  if (issues.length) throw new ValidationFailed(issues);
  return out as Parsed<S>;
}

export const SYNTH_FIELDS = { text: "str", speaker_wav: "str", language: "str" } as const;
export const FILE_FIELDS = { ...SYNTH_FIELDS, file_name_or_path: "str" } as const;
export const SETTINGS_FIELDS = {
  stream_chunk_size: "int",
  temperature: "float",
  speed: "float",
  length_penalty: "float",
  repetition_penalty: "float",
  top_p: "float",
  top_k: "int",
  enable_text_splitting: "bool",
} as const;

export type TtsSettings = Parsed<typeof SETTINGS_FIELDS>;

/** xtts-api-server's defaults (tts_funcs.py). */
export function defaultSettings(): TtsSettings {
  return {
    temperature: 0.75,
    length_penalty: 1.0,
    repetition_penalty: 5.0,
    top_k: 50,
    top_p: 0.85,
    speed: 1,
    enable_text_splitting: true,
    stream_chunk_size: 100,
  };
}

const RANGES: [keyof TtsSettings, number, number, string][] = [
  ["temperature", 0.01, 1, "Temperature must be between 0.01 and 1."],
  ["speed", 0.2, 2, "Speed must be between 0.2 and 2."],
  ["repetition_penalty", 0.1, 10, "Repetition penalty must be between 0.1 and 10."],
  ["top_p", 0.01, 1, "Top_p must be between 0.01 and 1."],
  ["top_k", 1, 100, "Top_k must be an integer between 1 and 100."],
  ["stream_chunk_size", 20, 400, "Stream chunk size must be between 20 and 400."],
];

/** The body of POST /set_tts_settings: 422 for missing/unparsable fields, 400 for a value out of range. */
export function parseSettings(body: unknown): TtsSettings {
  const s = parseModel(body, SETTINGS_FIELDS, "body");
  for (const [field, min, max, message] of RANGES) {
    const v = s[field] as number;
    if (!(v >= min && v <= max)) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", message, { field });
  }
  // The order xtts-api-server reports after a successful set.
  return {
    temperature: s.temperature,
    speed: s.speed,
    length_penalty: s.length_penalty,
    repetition_penalty: s.repetition_penalty,
    top_p: s.top_p,
    top_k: s.top_k,
    enable_text_splitting: s.enable_text_splitting,
    stream_chunk_size: s.stream_chunk_size,
  };
}

/** The 17 XTTS v2 languages, display name -> code (GET /languages). */
export const LANGUAGES: Record<string, string> = {
  Arabic: "ar",
  "Brazilian Portuguese": "pt",
  Chinese: "zh-cn",
  Czech: "cs",
  Dutch: "nl",
  English: "en",
  French: "fr",
  German: "de",
  Italian: "it",
  Polish: "pl",
  Russian: "ru",
  Spanish: "es",
  Turkish: "tr",
  Japanese: "ja",
  Korean: "ko",
  Hungarian: "hu",
  Hindi: "hi",
};
const CODES = new Set(Object.values(LANGUAGES));

/** The request's language, lower-cased (Kobold Lite sends "EN"); 400 when it is not one of the 17. */
export function checkLanguage(language: string): string {
  const code = language.trim().toLowerCase();
  if (!CODES.has(code))
    throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `Language code sent is either unsupported or misspelled: '${language}' (GET /languages lists them)`, {
      field: "language",
    });
  return code;
}

/** xtts-api-server's clean_text: `*`, CR and LF removed, "…" spans become '…'. */
export function cleanText(text: string): string {
  return text.replace(/[*\r\n]/g, " ").replace(/"([^"]*)"/g, "'$1'");
}
