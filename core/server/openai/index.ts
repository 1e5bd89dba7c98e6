/**
 * OpenAI-compatible API: POST /v1/audio/speech, GET /v1/models, /v1/audio/voices,
 * /v1/audio/models. Requests go through the same pipeline and scheduler as /api/speech;
 * errors use OpenAI's shape. Unknown body fields are accepted, as OpenAI's clients send extras.
 */
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { AUDIO_FORMATS } from "../../audio/encoders/index.ts";
import { ChorusError } from "../../errors.ts";
import { abortOnDisconnect, speechHeaders } from "../routes/speech.ts";
import { fromZod } from "../errors.ts";
import { OpenAIRequestError, openAIError, sendOpenAIError } from "./errors.ts";
import { openaiTables } from "./aliases.ts";
import { resolveTarget } from "./mapping.ts";
import { sendAudio, sendSse } from "./respond.ts";

const VoiceField = z.union([z.string(), z.looseObject({ id: z.string() })], { error: "must be a voice name or an object with an id" });

export const OpenAISpeechBody = z.looseObject({
  model: z.string({ error: "must be a string" }).default("tts-1"),
  input: z.string({ error: "is required and must be a string" }),
  voice: VoiceField,
  response_format: z.enum(AUDIO_FORMATS, { error: `must be one of ${AUDIO_FORMATS.join(", ")}` }).default("mp3"),
  speed: z.coerce.number({ error: "must be a number" }).min(0.25, "must be at least 0.25").max(4, "must be at most 4").default(1),
  instructions: z.string().optional(),
  stream_format: z.enum(["audio", "sse"], { error: "must be audio or sse" }).default("audio"),
});

function badRequest(message: string, field: string): ChorusError {
  return new ChorusError("CHORUS_ERR_REQUEST_INVALID", message, { field });
}

export const openaiRoutes: FastifyPluginAsync = async (app) => {
  const { registry, pipeline, config } = app.host;
  const compat = config.compat;
  if (!compat.openai.enabled) return;

  app.setErrorHandler((error, _request, reply) => sendOpenAIError(reply, error));
  // Engines come and go (hot swap): the name tables are gathered per request.
  const tables = () => openaiTables(compat, registry);

  const speech = async (request: import("fastify").FastifyRequest, reply: import("fastify").FastifyReply) => {
    const raw = request.body;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw badRequest("the body must be a JSON object", "(body)");
    const parsed = OpenAISpeechBody.safeParse(raw);
    if (!parsed.success) throw fromZod(parsed.error);
    const body = parsed.data;
    if (body.input.length > compat.openai.maxInput) {
      // OpenAI answers 400 here (the SDK's BadRequestError), code string_above_max_length.
      throw new OpenAIRequestError(`input: string should have at most ${compat.openai.maxInput} characters (got ${body.input.length})`, "input", "string_above_max_length");
    }
    if (!body.input.trim()) throw new ChorusError("CHORUS_ERR_TEXT_EMPTY", "input: must not be empty", { field: "input" });
    const voiceName = typeof body.voice === "string" ? body.voice : body.voice.id;
    if (!voiceName.trim()) throw badRequest("voice: must not be empty", "voice");
    const target = resolveTarget(tables(), registry, body.model, voiceName);
    const signal = abortOnDisconnect(request, reply);
    const stream = await pipeline.start({ text: body.input, engine: target.engine, voice: target.voice, speed: body.speed, options: target.options }, signal);
    speechHeaders(reply, stream);
    if (body.stream_format === "sse") return sendSse(reply, stream, body.response_format, compat.openai.pcmSampleRate, body.input.length);
    return sendAudio(reply, stream, body.response_format, compat.openai.pcmSampleRate);
  };
  app.post("/v1/audio/speech", speech);

  const modelIds = () => [...new Set([...Object.keys(tables().models), ...registry.list().filter((e) => e.manifest).map((e) => e.id)])];

  app.get("/v1/models", async () => ({
    object: "list",
    data: modelIds().map((id) => ({ id, object: "model", created: 0, owned_by: tables().models[id] ? `chorus:${tables().models[id]!.engine}` : "chorus" })),
  }));

  // The SDK's models.retrieve(id): one model object, or OpenAI's 404 model_not_found.
  app.get("/v1/models/:model", async (request, reply) => {
    const { model } = request.params as { model: string };
    if (!modelIds().includes(model)) {
      return reply.status(404).send(openAIError(404, `The model '${model}' does not exist (GET /v1/models lists them)`, "model", "model_not_found", "invalid_request_error"));
    }
    const mapped = tables().models[model];
    return { id: model, object: "model", created: 0, owned_by: mapped ? `chorus:${mapped.engine}` : "chorus" };
  });

  app.get("/v1/audio/models", async () => ({
    models: modelIds().map((id) => {
      const target = tables().models[id];
      const name = target ? `${id} (${registry.manifest(target.engine)?.name ?? target.engine})` : (registry.manifest(id)?.name ?? id);
      return { id, name };
    }),
  }));

  // OpenAI voice names, then the voices of the engine behind `model` (default: tts-1's).
  app.get("/v1/audio/voices", async (request, reply) => {
    const model = String((request.query as Record<string, unknown>).model ?? "tts-1");
    const engine = resolveTarget(tables(), registry, model, "").engine;
    const aliases = Object.keys(tables().voices).map((id) => ({ id, name: id }));
    const native = (await pipeline.voices(engine, abortOnDisconnect(request, reply))).map((v) => ({ id: `${engine}:${v.id}`, name: `${v.name} (${engine})` }));
    return { voices: [...aliases, ...native] };
  });
};
