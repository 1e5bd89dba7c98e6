/** AllTalk route helpers: form fields, numbers, errors in a `status` shape, ranged file replies. */
import fs from "node:fs";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ChorusError } from "../../errors.ts";
import { toChorusError } from "../errors.ts";
import type { Surface } from "../surface.ts";

/** Body fields (form or JSON object) as strings; repeated fields keep the last value. */
export function formParams(request: FastifyRequest): Record<string, string> {
  return fieldStrings(request.body);
}

/**
 * Query-string parameters as strings, read like body fields: a repeated parameter
 * (`?text=a&text=b`) arrives as an array and keeps its last value, as a repeated form field does.
 */
export function queryParams(request: FastifyRequest): Record<string, string> {
  return fieldStrings(request.query);
}

/**
 * AllTalk fields are strings. Arrays (repeated fields) keep their last value; an object, or an
 * array holding one, is a 400 naming the field (JSON bodies can send them, and they would
 * otherwise be spoken as "[object Object]").
 */
function fieldStrings(source: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!source || typeof source !== "object" || Array.isArray(source)) return out;
  for (const [k, v] of Object.entries(source as Record<string, unknown>)) {
    const values = Array.isArray(v) ? v : [v];
    if (values.some((x) => typeof x === "object" && x !== null)) {
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${k}: must be a string, not an object`, { field: k });
    }
    const last = values[values.length - 1];
    if (last !== undefined && last !== null) out[k] = String(last);
  }
  return out;
}

/** An optional numeric form field (its range is the request's: request/speech-request.ts); 400 naming it when not a number. */
export function numberField(form: Record<string, string>, name: string): number | undefined {
  const raw = form[name]?.trim();
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${name}: must be a number`, { field: name });
  return n;
}

/**
 * Chorus fields in errors raised after validation (the scheduler's `engine`, the pipeline's
 * `voice`) -> the AllTalk form field a client sent. Validation errors name AllTalk's fields
 * already (the routes pass their names to validateSpeech).
 */
function allTalkField(field: string | undefined, url: string): string | undefined {
  if (field === "voice") return url.startsWith("/api/tts-generate?") || url === "/api/tts-generate" ? "character_voice_gen" : "voice";
  if (field === "engine") return url.startsWith("/api/reload") ? "tts_method" : "engine";
  return field;
}

/** AllTalk's errors: `{"status":"generate-failure","error":{code,message,field}}` with the catalogue's status. */
export const allTalkSurface: Surface = {
  name: "alltalk",
  accepts: "a form (application/x-www-form-urlencoded or multipart/form-data) or JSON with Content-Type: application/json",
  render(error, url) {
    const err = toChorusError(error);
    const field = allTalkField(err.field, url);
    const body = { status: "generate-failure", error: { code: err.code, message: err.message, ...(field ? { field } : {}) } };
    return { status: err.statusCode, body, retryAfter: err.retryAfter, cause: err };
  },
};

/** Sends a WAV file, honouring a single `Range: bytes=a-b` (browsers seek in <audio>). */
export async function sendRanged(request: FastifyRequest, reply: FastifyReply, file: string): Promise<FastifyReply> {
  let size: number;
  try {
    size = (await fs.promises.stat(file)).size;
  } catch {
    throw new ChorusError("CHORUS_ERR_FILE_NOT_FOUND", "no such file (it may have expired)", { field: "file" });
  }
  void reply.type("audio/wav").header("Accept-Ranges", "bytes").header("Cache-Control", "no-cache");
  const m = /^bytes=(\d*)-(\d*)$/.exec(String(request.headers.range ?? ""));
  if (m && (m[1] || m[2])) {
    let start = m[1] ? Number(m[1]) : size - Number(m[2]);
    let end = m[1] && m[2] ? Number(m[2]) : size - 1;
    start = Math.max(0, start);
    end = Math.min(end, size - 1);
    if (start > end) return reply.status(416).header("Content-Range", `bytes */${size}`).send();
    void reply
      .status(206)
      .header("Content-Range", `bytes ${start}-${end}/${size}`)
      .header("Content-Length", String(end - start + 1));
    return reply.send(fs.createReadStream(file, { start, end }));
  }
  void reply.header("Content-Length", String(size));
  return reply.send(fs.createReadStream(file));
}
