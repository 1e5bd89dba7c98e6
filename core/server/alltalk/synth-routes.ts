/**
 * AllTalk's synthesis routes: /api/tts-generate (a WAV file under /audio/, narrator and
 * character voices), /api/tts-generate-streaming, /api/previewvoice/ and the generated files
 * under /audio/.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { streamAudio, wholeAudio } from "../../audio/output/index.ts";
import type { AudioChunk } from "../../../packages/sdk/src/index.ts";
import { ChorusError } from "../../errors.ts";
import { loggingFailure } from "../errors.ts";
import { checkRawText, validateSpeech } from "../../request/speech-request.ts";
import { TEXT_FILTERING_MODES, type TextFiltering } from "../../text/filter.ts";
import { parseNarratorMode, type NotInside } from "../../text/narrator.ts";
import { speechHeaders } from "../routes/speech.ts";
import { audioToken } from "../audio-token.ts";
import { engineErrorOfVoice, resolveVoiceRef } from "../../voices/reference.ts";
import { prosodyHeaders } from "../../synth/prosody.ts";
import type { AllTalkContext } from "./context.ts";
import { applyRetention, outputFileName, resolveInside } from "./files.ts";
import { generateSpeech } from "./generate.ts";
import { formParams, numberField, queryParams, sendRanged } from "./http.ts";

const PREVIEW_TEXT = "Hello, this is a preview of the voice you have chosen.";

export function synthRoutes(app: FastifyInstance, ctx: AllTalkContext): void {
  const { state, running, track, outputsDir } = ctx;
  const { registry, pipeline, config } = ctx.host;
  const compat = config.compat;

  /** AllTalk's `language` and the model chosen with /api/reload, for an engine that takes them as options (XTTS). */
  const engineOptions = (engine: string, language: string | undefined): Record<string, unknown> | undefined => {
    const declared = registry.manifest(engine)?.options ?? {};
    const model = state.models.get(engine);
    const options: Record<string, unknown> = {};
    if (language?.trim() && declared.language) options.language = language.trim();
    if (model && declared.model) options.model = model;
    return Object.keys(options).length ? options : undefined;
  };

  /** The parts' audio as one WAV file at the first part's rate (the output stage resamples the others once). */
  const writeOutput = async (name: string, sampleRate: number, chunks: AudioChunk[]) => {
    const file = path.join(outputsDir, name);
    const wav = await wholeAudio({ sampleRate, chunks: chunks.values() }, { format: "wav" });
    await fs.writeFile(file, wav.body);
    await applyRetention(outputsDir, compat.alltalk, name);
    // with an API key, the links carry a signed token so that an <audio> element can play them
    const url = compat.apiKey ? `/audio/${name}?token=${audioToken(name, compat.apiKey, compat.alltalk.maxAgeMinutes * 60)}` : `/audio/${name}`;
    return { output_file_path: file, output_file_url: url, output_cache_url: url };
  };

  app.post("/api/tts-generate", async (request, reply) => {
    const form = formParams(request);
    const text = form.text_input;
    if (text === undefined) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "text_input: is required", { field: "text_input" });
    checkRawText(text, config.text, { text: "text_input" }); // before filtering, which blocks the event loop while it runs
    const filtering = (form.text_filtering || "standard").toLowerCase() as TextFiltering;
    if (!TEXT_FILTERING_MODES.includes(filtering))
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "text_filtering: must be none, standard or html", { field: "text_filtering" });
    const narrator = parseNarratorMode(form.narrator_enabled);
    if (narrator === undefined)
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "narrator_enabled: must be true, false or silent", { field: "narrator_enabled" });
    const notInside = (form.text_not_inside || "character").toLowerCase() as NotInside;
    if (!["character", "narrator", "silent"].includes(notInside))
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "text_not_inside: must be character, narrator or silent", { field: "text_not_inside" });
    const speed = numberField(form, "speed");
    const pitch = numberField(form, "pitch");
    const timestamp = (form.output_file_timestamp ?? "true").toLowerCase() !== "false";
    const name = outputFileName(form.output_file_name, timestamp);
    // `engine:voice` picks the engine for that voice; plain voices are the current engine's.
    const character = resolveVoiceRef(registry, voiceId(form.character_voice_gen), state.engine, { field: "character_voice_gen" });
    const narratorRef = form.narrator_voice_gen?.trim()
      ? resolveVoiceRef(registry, voiceId(form.narrator_voice_gen), state.engine, { field: "narrator_voice_gen" })
      : undefined;
    const controller = track(request, reply);
    try {
      const audio = await generateSpeech(
        pipeline,
        {
          text,
          filtering,
          engine: character.engine ?? state.engine,
          engineFromVoice: character.engineFromVoice,
          narratorEngineFromVoice: narratorRef?.engineFromVoice,
          characterVoice: character.voice,
          narratorVoice: narratorRef?.voice,
          narratorEngine: narratorRef?.engine,
          narrator,
          textNotInside: notInside,
          speed,
          limits: config.text,
          // AllTalk's pitch is in semitones; Chorus's is a frequency factor (2^(st/12): -24..24 -> 0.25..4, checked by the validator).
          pitch: pitch === undefined ? undefined : 2 ** (pitch / 12),
          optionsFor: (engine) => engineOptions(engine, form.language),
        },
        controller.signal,
      );
      for (const [header, value] of Object.entries(prosodyHeaders({ ignored: [...audio.ignored], clamped: audio.clamped }))) void reply.header(header, value);
      return { status: "generate-success", ...(await writeOutput(name, audio.sampleRate, audio.chunks)) };
    } finally {
      running.delete(controller);
    }
  });

  const streaming = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = { ...queryParams(request), ...formParams(request) };
    if (params.text === undefined) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "text: is required", { field: "text" });
    checkRawText(params.text, config.text); // before resolving the voice: text far over the limit does no work
    const target = resolveVoiceRef(registry, voiceId(params.voice), state.engine);
    const engine = target.engine ?? state.engine;
    const speech = validateSpeech(
      { text: params.text, engine, voice: target.voice, options: engineOptions(engine, params.language), format: "wav", stream: true },
      config.text,
    );
    const controller = track(request, reply);
    const stream = await pipeline.start(speech, controller.signal).catch((err: unknown) => {
      throw engineErrorOfVoice(err, target, "voice"); // `engine:voice` named it
    });
    speechHeaders(reply, stream);
    const out = streamAudio(stream, { format: speech.format });
    void reply.type(out.contentType);
    if (params.output_file) void reply.header("Content-Disposition", `inline; filename="${outputFileName(params.output_file, false)}"`);
    return reply.send(Readable.from(loggingFailure(out.body, request.log)));
  };
  // No HEAD: fastify's automatic one would run a whole synthesis for headers nobody plays (upstream: 405).
  app.get("/api/tts-generate-streaming", { exposeHeadRoute: false }, streaming);
  app.post("/api/tts-generate-streaming", streaming);

  app.post("/api/previewvoice", async (request, reply) => {
    const form = formParams(request);
    const voice = voiceId(form.voice);
    if (!voice) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "voice: is required", { field: "voice" });
    const target = resolveVoiceRef(registry, voice, state.engine);
    const audio = await generateSpeech(
      pipeline,
      {
        text: PREVIEW_TEXT,
        filtering: "none",
        engine: target.engine ?? state.engine,
        engineFromVoice: target.engineFromVoice,
        characterVoice: target.voice,
        narrator: false,
        textNotInside: "character",
        limits: config.text,
      },
      track(request, reply).signal,
    ).catch((err: unknown) => {
      // generateSpeech names tts-generate's field; this route's is `voice`.
      throw err instanceof ChorusError && err.field === "character_voice_gen" ? new ChorusError(err.code, err.message, { field: "voice", cause: err }) : err;
    });
    return { status: "generate-success", ...(await writeOutput(outputFileName(`preview_${voice.replace(/:/g, "_")}`, false), audio.sampleRate, audio.chunks)) };
  });

  app.get("/audio/:file", async (request, reply) => {
    const { file } = request.params as { file: string };
    const full = resolveInside(outputsDir, file);
    if (!full) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `file: '${file}' is not a generated file name`, { field: "file" });
    return sendRanged(request, reply, full);
  });
}

/** AllTalk voices are often file names (`female_01.wav`); Chorus voice ids have no extension. */
function voiceId(value: string | undefined): string | undefined {
  const v = value?.trim().replace(/\.wav$/i, "");
  return v ? v : undefined;
}
