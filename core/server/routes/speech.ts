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
import { AUDIO_FORMATS, contentType, encodeAll, encodeStream } from "../../audio/encoders/index.ts";
import type { SpeechStream } from "../../synth/pipeline.ts";
import { fromZod } from "../errors.ts";
import { resolveVoiceRef } from "../../voices/reference.ts";
import { prosodyHeaders } from "../../synth/prosody.ts";

export const SpeechBody = z.strictObject({
  // "" and "   " alike are CHORUS_ERR_TEXT_EMPTY, from the pipeline.
  text: z.string(),
  engine: z.string().min(1).optional(),
  voice: z.string().min(1).optional(),
  speed: z.number().min(0.25).max(4).optional(),
  pitch: z.number().min(0.25).max(4).optional(),
  format: z.enum(AUDIO_FORMATS).default("wav"),
  stream: z.boolean().default(false),
  options: z.record(z.string(), z.unknown()).optional(),
  fallback: z.boolean().optional(),
  keepAlive: z.number().min(-1).optional(),
});

/** Aborts when the client goes away before the response has been fully sent. */
export function abortOnDisconnect(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  request.raw.on("aborted", () => controller.abort());
  return controller.signal;
}

/** Headers saying who made the audio (engine, profile, voice, rate, fallback reason, ignored or clamped speed/pitch). */
export function speechHeaders(reply: FastifyReply, speech: SpeechStream): void {
  void reply.header("X-Chorus-Engine", speech.engineId);
  void reply.header("X-Chorus-Profile", speech.profile.name);
  void reply.header("X-Chorus-Voice", speech.voice);
  void reply.header("X-Sample-Rate", String(speech.sampleRate));
  if (speech.fallbackReason) void reply.header("X-Chorus-Fallback", speech.fallbackReason);
  for (const [name, value] of Object.entries(prosodyHeaders({ ignored: speech.ignored ?? [], clamped: speech.clamped ?? {} }))) void reply.header(name, value);
}

export const speechRoutes: FastifyPluginAsync = async (app) => {
  app.post("/api/speech", async (request, reply) => {
    if (request.body === null || typeof request.body !== "object" || Array.isArray(request.body)) {
      throw fromZod(new z.ZodError([{ code: "custom", path: [], message: "body must be a JSON object", input: request.body }]));
    }
    const parsed = SpeechBody.safeParse(request.body);
    if (!parsed.success) throw fromZod(parsed.error);
    const body = parsed.data;
    // `engine:voice` names the engine too (it must agree with `engine` when both are given).
    const target = resolveVoiceRef(app.host.registry, body.voice, body.engine, { explicit: true });
    const signal = abortOnDisconnect(request, reply);
    const speech = await app.host.pipeline.start(
      { text: body.text, engine: target.engine, voice: target.voice, speed: body.speed, pitch: body.pitch, options: body.options, fallback: body.fallback, keepAliveSeconds: body.keepAlive },
      signal,
    );
    speechHeaders(reply, speech);
    void reply.type(contentType(body.format, speech.sampleRate));
    // Streamed: bytes as they are made, so a WAV header says "unknown" sizes and a FLAC's
    // STREAMINFO no length. Not streamed: the whole file, its header with the total length.
    if (body.stream) return reply.send(Readable.from(encodeStream(body.format, speech.sampleRate, speech.chunks), { objectMode: false }));
    return reply.send(await encodeAll(body.format, speech.sampleRate, speech.chunks));
  });
};
