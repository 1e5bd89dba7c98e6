/**
 * POST /api/speech: the native speech route.
 * `{text, engine?, voice?, speed?, pitch?, format?: "wav"|"pcm"|"mp3"|"opus"|"aac"|"flac", stream?, options?, fallback?, keepAlive?}`
 * Without `stream` the whole file is sent at once, its header with the exact length (WAV
 * sizes, FLAC total samples); with `stream: true` each sentence is written as soon as the
 * engine has made it (chunked transfer), so the header cannot know the length.
 */
import { Readable } from "node:stream";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { streamAudio, wholeAudioParts } from "../../audio/output/index.ts";
import { ChorusError } from "../../errors.ts";
import { loggingFailure } from "../errors.ts";
import { CLIENT_FIELDS, SURFACE_FIELDS, validateSpeech } from "../../request/speech-request.ts";
import type { SpeechStream } from "../../synth/pipeline.ts";
import { engineErrorOfVoice, resolveVoiceRef, type VoiceTarget } from "../../voices/reference.ts";
import { prosodyHeaders } from "../../synth/prosody.ts";
import { sendParts } from "../whole-body.ts";

/**
 * The native body: the request's client fields as they are, plus `keepAlive` (the request's
 * keepAliveSeconds). Strict, so anything else, the fields only surfaces set included
 * (keepAliveSeconds, continues), is refused as an unknown field. validateSpeech parses with it
 * in place of SpeechRequestSchema: one parse per request.
 */
const NativeSpeechBody = z
  .strictObject({ ...CLIENT_FIELDS, keepAlive: SURFACE_FIELDS.keepAliveSeconds })
  .transform(({ keepAlive, ...fields }) => (keepAlive === undefined ? fields : { ...fields, keepAliveSeconds: keepAlive }));

/** Aborts when the client goes away before the response has been fully sent. */
export function abortOnDisconnect(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  request.raw.on("aborted", () => controller.abort());
  return controller.signal;
}

/**
 * A header value as Node sends it: printable ASCII without `%` as it is (every engine id and
 * profile, most voices and fallback reasons), anything else (a voice id such as XTTS's `さくら`,
 * named after its clip) percent-encoded as UTF-8, `%` included, so that decodeURIComponent
 * gives every value back. Node refuses characters outside Latin-1 (ERR_INVALID_CHAR) when it
 * writes the head, after the synthesis has started.
 */
export function headerValue(value: string): string {
  return /^[\x20-\x24\x26-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/** Headers saying who made the audio (engine, profile, voice, rate, fallback reason, ignored or clamped speed/pitch). */
export function speechHeaders(reply: FastifyReply, speech: SpeechStream): void {
  void reply.header("X-Chorus-Engine", headerValue(speech.engineId));
  void reply.header("X-Chorus-Profile", headerValue(speech.profile.name));
  void reply.header("X-Chorus-Voice", headerValue(speech.voice));
  void reply.header("X-Sample-Rate", String(speech.sampleRate));
  if (speech.fallbackReason) void reply.header("X-Chorus-Fallback", headerValue(speech.fallbackReason));
  for (const [name, value] of Object.entries(prosodyHeaders({ ignored: speech.ignored ?? [], clamped: speech.clamped ?? {} }))) void reply.header(name, value);
}

export const speechRoutes: FastifyPluginAsync = async (app) => {
  const { registry, pipeline, config } = app.host;
  app.post("/api/speech", async (request, reply) => {
    const body = request.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "(body): body must be a JSON object", { field: "(body)" });
    }
    let fields = body as Record<string, unknown>;
    let target: VoiceTarget | undefined;
    // `engine:voice` names the engine too (it must agree with `engine` when both are given); other types are the validator's to refuse.
    if (typeof fields.voice === "string" && fields.voice && (fields.engine === undefined || typeof fields.engine === "string")) {
      target = resolveVoiceRef(registry, fields.voice, fields.engine as string | undefined, { explicit: true });
      fields = { ...fields, engine: target.engine, voice: target.voice };
    }
    const speech = validateSpeech(fields, config.text, {}, NativeSpeechBody);
    const stream = await pipeline.start(speech, abortOnDisconnect(request, reply)).catch((err: unknown) => {
      throw engineErrorOfVoice(err, target, "voice"); // an engine named only by `engine:voice`: `voice`, the field the client sent
    });
    speechHeaders(reply, stream);
    // Streamed: bytes as they are made, so a WAV header says "unknown" sizes and a FLAC's
    // STREAMINFO no length. Not streamed: the whole file, its header with the total length.
    if (speech.stream) {
      const out = streamAudio(stream, { format: speech.format });
      return reply.type(out.contentType).send(Readable.from(loggingFailure(out.body, request.log), { objectMode: false }));
    }
    // Header and chunks written as they are, in one writev (whole-body.ts).
    const out = await wholeAudioParts(stream, { format: speech.format });
    sendParts(reply, out.contentType, out.body);
  });
};
