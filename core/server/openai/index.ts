/**
 * OpenAI-compatible API: POST /v1/audio/speech, GET /v1/models, /v1/audio/voices,
 * /v1/audio/models. Requests go through the same pipeline and scheduler as /api/speech;
 * errors use OpenAI's shape. Unknown body fields are accepted, as OpenAI's clients send extras.
 * Registered under the `/v1` prefix; it owns that prefix's errors and 404s (errors.ts).
 */
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { AUDIO_FORMATS } from "../../audio/output/formats.ts";
import { ChorusError } from "../../errors.ts";
import { validateSpeech } from "../../request/speech-request.ts";
import { abortOnDisconnect, speechHeaders } from "../routes/speech.ts";
import { fromZod } from "../errors.ts";
import { engineErrorOfVoice } from "../../voices/reference.ts";
import { ownErrors } from "../surface.ts";
import { OpenAIRequestError, openAIError, openaiSurface } from "./errors.ts";
import { openaiTables } from "./aliases.ts";
import { resolveTarget } from "./mapping.ts";
import { sendAudio, sendSse } from "./respond.ts";

/** OpenAI's names for request fields (errors name these). */
const OPENAI_NAMES = { text: "input", engine: "model", format: "response_format" } as const;

const VoiceField = z.union([z.string(), z.looseObject({ id: z.string() })], { error: "must be a voice name or an object with an id" });

/** A number, or a string holding one ("1.5": OpenAI takes it); nothing else (null, "", true) passes for one. */
const NumberLike = z.union(
  [
    z.number(),
    z
      .string()
      .regex(/^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i)
      .transform(Number),
  ],
  {
    error: (issue) => `must be a number, got ${(JSON.stringify(issue.input) ?? String(issue.input)).slice(0, 40)}`,
  },
);

/**
 * OpenAI's own fields and their types; the request's limits (text, speed) are checked once,
 * by validateSpeech, after translation. `speed` may be a numeric string, as OpenAI takes "1.5".
 */
export const OpenAISpeechBody = z.looseObject({
  model: z.string({ error: "must be a string" }).default("tts-1"),
  input: z.string({ error: "is required and must be a string" }),
  voice: VoiceField,
  response_format: z.enum(AUDIO_FORMATS, { error: `must be one of ${AUDIO_FORMATS.join(", ")}` }).default("mp3"),
  speed: NumberLike.default(1),
  instructions: z.string({ error: "must be a string" }).optional(),
  stream_format: z.enum(["audio", "sse"], { error: "must be audio or sse" }).default("audio"),
});

function badRequest(message: string, field: string): ChorusError {
  return new ChorusError("CHORUS_ERR_REQUEST_INVALID", message, { field });
}

export const openaiRoutes: FastifyPluginAsync = async (app) => {
  const { registry, pipeline, config } = app.host;
  const compat = config.compat;
  // OpenAI clients read errors in OpenAI's shape under /v1, even with the API switched off.
  ownErrors(app, openaiSurface, { ownPrefix: true });
  if (!compat.openai.enabled) return;

  // Engines come and go (hot swap): the name tables are gathered per request.
  const tables = () => openaiTables(compat, registry);

  const speech = async (request: import("fastify").FastifyRequest, reply: import("fastify").FastifyReply) => {
    const raw = request.body;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw badRequest("the body must be a JSON object", "(body)");
    const parsed = OpenAISpeechBody.safeParse(raw);
    if (!parsed.success) throw fromZod(parsed.error);
    const body = parsed.data;
    if (body.input.length > compat.openai.maxInput) {
      // A translation rule of this surface, not a request limit: OpenAI's contract is a 400
      // (the SDK's BadRequestError) with code string_above_max_length for raw input over 4096.
      throw new OpenAIRequestError(
        `input: string should have at most ${compat.openai.maxInput} characters (got ${body.input.length})`,
        "input",
        "string_above_max_length",
      );
    }
    const voiceName = typeof body.voice === "string" ? body.voice : body.voice.id;
    if (!voiceName.trim()) throw badRequest("voice: must not be empty", "voice");
    const target = resolveTarget(tables(), registry, body.model, voiceName);
    const speech = validateSpeech(
      { text: body.input, engine: target.engine, voice: target.voice, speed: body.speed, options: target.options, format: body.response_format, stream: true },
      config.text,
      OPENAI_NAMES,
    );
    const stream = await pipeline.start(speech, abortOnDisconnect(request, reply)).catch((err: unknown) => {
      throw engineErrorOfVoice(err, target, "voice"); // not `model`: the voice named the engine
    });
    speechHeaders(reply, stream);
    if (body.stream_format === "sse") return sendSse(reply, stream, speech.format, compat.openai.pcmSampleRate, body.input.length);
    return sendAudio(reply, stream, speech.format, compat.openai.pcmSampleRate);
  };
  app.post("/audio/speech", speech);

  const modelIds = () => [
    ...new Set([
      ...Object.keys(tables().models),
      ...registry
        .list()
        .filter((e) => e.manifest)
        .map((e) => e.id),
    ]),
  ];

  app.get("/models", async () => ({
    object: "list",
    data: modelIds().map((id) => ({ id, object: "model", created: 0, owned_by: tables().models[id] ? `chorus:${tables().models[id]!.engine}` : "chorus" })),
  }));

  // The SDK's models.retrieve(id): one model object, or OpenAI's 404 model_not_found.
  app.get("/models/:model", async (request, reply) => {
    const { model } = request.params as { model: string };
    if (!modelIds().includes(model)) {
      return reply
        .status(404)
        .send(openAIError(404, `The model '${model}' does not exist (GET /v1/models lists them)`, "model", "model_not_found", "invalid_request_error"));
    }
    const mapped = tables().models[model];
    return { id: model, object: "model", created: 0, owned_by: mapped ? `chorus:${mapped.engine}` : "chorus" };
  });

  app.get("/audio/models", async () => ({
    models: modelIds().map((id) => {
      const target = tables().models[id];
      const name = target ? `${id} (${registry.manifest(target.engine)?.name ?? target.engine})` : (registry.manifest(id)?.name ?? id);
      return { id, name };
    }),
  }));

  // OpenAI voice names, then the voices of the engine behind `model` (default: tts-1's).
  app.get("/audio/voices", async (request, reply) => {
    const model = String((request.query as Record<string, unknown>).model ?? "tts-1");
    const engine = resolveTarget(tables(), registry, model, "").engine;
    const aliases = Object.keys(tables().voices).map((id) => ({ id, name: id }));
    const native = (await pipeline.voices(engine, abortOnDisconnect(request, reply))).map((v) => ({ id: `${engine}:${v.id}`, name: `${v.name} (${engine})` }));
    return { voices: [...aliases, ...native] };
  });
};
