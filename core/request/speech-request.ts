/**
 * The one speech request every surface builds: the native route, OpenAI, AllTalk, xtts-api,
 * Wyoming and `chorus say` translate their own field names into these fields and call
 * `validateSpeech` once; the pipeline takes only its result (the `SpeechRequest` brand) and
 * checks nothing again. Every limit a request has lives here:
 * - text: at most `text.maxLength` characters after whitespace is normalised (413), and at
 *   most RAW_TEXT_FACTOR times that before (`checkRawText`: a surface that filters markup
 *   calls it before filtering, which runs on the event loop); something to speak; no lone
 *   UTF-16 surrogate;
 * - speed and pitch: factors from PROSODY_MIN to PROSODY_MAX (what reaches an engine is
 *   synth/prosody.ts's: ignored or clamped by its manifest);
 * - engine and voice: non-empty; options: an object (checked against the manifest by the
 *   pipeline once the lease names the engine that serves); format: one the output stage makes.
 * Errors name the field as the client sent it (names.ts).
 */
import { z } from "zod";
import { AUDIO_FORMATS } from "../audio/output/formats.ts";
import type { Config } from "../config/schema.ts";
import { ChorusError } from "../errors.ts";
import { hasSpeakableContent, normalizeWhitespace } from "../text/sentences.ts";
import { clientName, describeRange, type FieldNames } from "./names.ts";

/** Speed and pitch factors, relative to the voice's own (pitch: two octaves either way). */
export const PROSODY_MIN = 0.25;
export const PROSODY_MAX = 4;

/**
 * How many times `text.maxLength` raw text may be before it is normalised or filtered:
 * filtering (AllTalk) removes markup, so what is spoken can be much shorter than what was
 * sent, but text far beyond anything one request speaks is refused before any work on it.
 */
export const RAW_TEXT_FACTOR = 4;

const prosody = z.number({ error: "must be a number" }).refine((v) => Number.isFinite(v) && v >= PROSODY_MIN && v <= PROSODY_MAX, { error: "out of range" });

/**
 * The fields a client names directly (the native body takes these as they are; other surfaces
 * rename theirs to these). A surface's own schema builds on this shape (routes/speech.ts).
 */
export const CLIENT_FIELDS = {
  text: z.string({ error: "is required and must be a string" }),
  engine: z.string({ error: "must be a string" }).min(1, "must not be empty").optional(),
  voice: z.string({ error: "must be a string" }).min(1, "must not be empty").optional(),
  speed: prosody.optional(),
  pitch: prosody.optional(),
  options: z.record(z.string(), z.unknown(), { error: "must be an object" }).optional(),
  format: z.enum(AUDIO_FORMATS, { error: `must be one of ${AUDIO_FORMATS.join(", ")}` }).default("wav"),
  /** Bytes as they are made (a streamed WAV says "unknown" sizes), or the whole file at once. */
  stream: z.boolean({ error: "must be true or false" }).default(false),
  /** Allow the scheduler to serve from a fallback engine (default true). */
  fallback: z.boolean({ error: "must be true or false" }).optional(),
};

/** Fields a surface sets itself, from its client's words or its own plan; no client sends them by these names. */
export const SURFACE_FIELDS = {
  /** Keep-alive override for this request, seconds (0 = unload when idle, -1 = never); the native body's `keepAlive`. */
  keepAliveSeconds: z.number({ error: "must be a number" }).min(-1, "must be -1 or more").optional(),
  /** More parts of the same client request follow right after this one (a narrated text): a hint for the engine. */
  continues: z.boolean().optional(),
};

/** The fields, as the surfaces hand them over (after renaming their own). */
export const SpeechRequestSchema = z.strictObject({ ...CLIENT_FIELDS, ...SURFACE_FIELDS });

/** What a schema `validateSpeech` runs must produce: the request's fields. */
export type SpeechFields = z.output<typeof SpeechRequestSchema>;

declare const VALIDATED: unique symbol;

/** A request `validateSpeech` accepted: text normalised, every field in range. Only it makes one. */
export type SpeechRequest = Readonly<SpeechFields> & { readonly [VALIDATED]: true };

/** The text limits of this host (config `text`). */
export type TextLimits = Pick<Config["text"], "maxLength">;

/** 413 when raw `text` is over RAW_TEXT_FACTOR times `text.maxLength`, naming the client's field. */
export function checkRawText(text: string, limits: TextLimits, names: FieldNames = {}): void {
  const limit = limits.maxLength * RAW_TEXT_FACTOR;
  if (text.length > limit) {
    const field = clientName(names, "text");
    throw new ChorusError(
      "CHORUS_ERR_TEXT_TOO_LONG",
      `${field}: is ${text.length} characters; the limit before filtering is ${limit} (${RAW_TEXT_FACTOR} times text.maxLength)`,
      { field },
    );
  }
}

/**
 * The one validator: checks `input` (a surface's request, renamed to these fields) and
 * returns it with the text normalised. Throws 400/413 catalogue errors naming the field by
 * `names` (the client's vocabulary: OpenAI's `input`, AllTalk's `text_input`, ...).
 * `schema` replaces SpeechRequestSchema for a surface whose body is itself a request under
 * its own names (the native route: no internal fields, `keepAlive`), so the body is parsed once.
 */
export function validateSpeech(
  input: unknown,
  limits: TextLimits,
  names: FieldNames = {},
  schema: z.ZodType<SpeechFields> = SpeechRequestSchema,
): SpeechRequest {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "(body): must be a JSON object", { field: "(body)" });
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw fromIssue(parsed.error.issues[0]!, names, input as Record<string, unknown>);
  const request = parsed.data;
  checkRawText(request.text, limits, names);
  const text = normalizeWhitespace(request.text);
  const field = clientName(names, "text");
  if (text.length > limits.maxLength) {
    throw new ChorusError("CHORUS_ERR_TEXT_TOO_LONG", `${field}: is ${text.length} characters; the limit is ${limits.maxLength}`, { field });
  }
  if (!hasSpeakableContent(text)) throw new ChorusError("CHORUS_ERR_TEXT_EMPTY", `${field}: has nothing to speak`, { field });
  // A lone UTF-16 surrogate (e.g. JSON "\ud800") is not text any engine can read.
  const lone = /\p{Cs}/u.exec(text);
  if (lone) {
    const code = lone[0].charCodeAt(0).toString(16).toUpperCase();
    throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${field}: invalid Unicode (a lone surrogate, U+${code}, at position ${lone.index})`, { field });
  }
  return Object.freeze({ ...request, text }) as SpeechRequest;
}

function fromIssue(issue: z.core.$ZodIssue, names: FieldNames, input: Record<string, unknown>): ChorusError {
  const unknown = issue.code === "unrecognized_keys";
  const key = String(unknown ? issue.keys[0] : (issue.path[0] ?? ""));
  const rest = unknown ? [] : issue.path.slice(1).map(String);
  const field = [key ? clientName(names, key) : "(body)", ...rest].join(".");
  let message = unknown ? "unknown field" : issue.message;
  if ((key === "speed" || key === "pitch") && issue.code === "custom") message = describeRange(names, key, PROSODY_MIN, PROSODY_MAX, input[key]);
  return new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${field}: ${message}`, { field });
}
