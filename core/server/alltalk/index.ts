/**
 * AllTalk-compatible API (AllTalk's default port is 7851, so its clients work unchanged):
 * /api/ready, /api/rvcvoices, /api/currentsettings, /api/reload, /api/lowvramsetting,
 * /api/deepspeed, /api/stop-generation, /api/tts-generate, /api/tts-generate-streaming,
 * /api/previewvoice/ and the generated files under /audio/. (/api/voices is the native route,
 * whose `{voices:[ids]}` is already AllTalk's shape.) Forms are application/x-www-form-urlencoded
 * or multipart/form-data (as FastAPI's `Form` takes both). Voices may be `engine:voice` or a
 * language code on every route (voices/reference.ts).
 */
import { audioToken } from "../audio-token.ts";
import fs from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { streamAudio, wholeAudio } from "../../audio/output/index.ts";
import type { AudioChunk } from "../../../packages/sdk/src/index.ts";
import { CHORUS_ROOT } from "../../config/load.ts";
import { ChorusError } from "../../errors.ts";
import { checkRawText, validateSpeech } from "../../request/speech-request.ts";
import { TEXT_FILTERING_MODES, type TextFiltering } from "../../text/filter.ts";
import { parseNarratorMode, type NotInside } from "../../text/narrator.ts";
import { abortOnDisconnect, speechHeaders } from "../routes/speech.ts";
import { applyRetention, outputFileName, resolveInside } from "./files.ts";
import { multipartBoundary, parseMultipart } from "./multipart.ts";
import { resolveVoiceRef } from "../../voices/reference.ts";
import { prosodyHeaders } from "../../synth/prosody.ts";
import { generateSpeech } from "./generate.ts";
import { ownErrors } from "../surface.ts";
import { allTalkSurface, formParams, numberField, queryParams, sendRanged } from "./http.ts";

const PREVIEW_TEXT = "Hello, this is a preview of the voice you have chosen.";

export const alltalkRoutes: FastifyPluginAsync = async (app) => {
  const { registry, pipeline, config } = app.host;
  const compat = config.compat;
  if (!compat.alltalk.enabled) return;
  const outputsDir = path.resolve(CHORUS_ROOT, config.dataDir, compat.alltalk.outputsDir);
  await fs.mkdir(outputsDir, { recursive: true });
  // AllTalk's current engine is the host's runtime default (registry selection, persisted in
  // state.json): /api/reload changes it for every API, as `chorus use` does.
  const state = {
    get engine() {
      return registry.selection.current();
    },
    lowVram: false,
    models: new Map<string, string>(),
  };
  const running = new Set<AbortController>();

  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addContentTypeParser("multipart/form-data", { parseAs: "buffer" }, (req, body, done) => {
    try {
      done(null, parseMultipart(body as Buffer, multipartBoundary(req.headers["content-type"])));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  ownErrors(app, allTalkSurface);

  const engines = () => registry.list().filter((e) => e.manifest && e.status !== "failed");

  /** An abort signal that fires on disconnect or PUT /api/stop-generation. */
  const track = (request: FastifyRequest, reply: FastifyReply) => {
    const controller = new AbortController();
    const disconnect = abortOnDisconnect(request, reply);
    disconnect.addEventListener("abort", () => controller.abort(disconnect.reason));
    running.add(controller);
    reply.raw.on("close", () => running.delete(controller));
    return controller;
  };

  /** AllTalk's `language` and the model chosen with /api/reload, for an engine that takes them as options (XTTS). */
  const engineOptions = (engine: string, language: string | undefined): Record<string, unknown> | undefined => {
    const declared = registry.manifest(engine)?.options ?? {};
    const model = state.models.get(engine);
    const options: Record<string, unknown> = {};
    if (language?.trim() && declared.language) options.language = language.trim();
    if (model && declared.model) options.model = model;
    return Object.keys(options).length ? options : undefined;
  };

  /** The engine's DeepSpeed placement (a profile named *deepspeed*), whether it can run here, whether it is chosen. */
  const deepspeedOf = (id: string) => {
    const profile = registry.manifest(id)?.resources.profiles.find((p) => p.name.includes("deepspeed"));
    return {
      profile,
      available: profile ? registry.profileOffered(id, profile) : false,
      enabled: profile !== undefined && app.host.scheduler.preferredProfile(id) === profile.name,
    };
  };

  app.get("/api/ready", async (_request, reply) => reply.type("text/plain; charset=utf-8").send("Ready"));
  app.get("/api/rvcvoices", async () => ({ status: "success", rvcvoices: ["Disabled"] }));

  app.get("/api/currentsettings", async () => {
    const m = registry.manifest(state.engine);
    const caps = m?.capabilities;
    const deepspeed = deepspeedOf(state.engine);
    return {
      engines_available: engines().map((e) => e.id),
      current_engine_loaded: state.engine,
      // What /api/reload changes: the server's default engine, not only these routes'.
      current_engine_scope: "server: AllTalk routes, /api/speech and chorus say without an engine, the web page; OpenAI requests use their model's engine",
      models_available: engines().map((e) => ({ name: e.id })),
      current_model_loaded: state.models.has(state.engine) ? `${state.engine} - ${state.models.get(state.engine)}` : state.engine,
      manufacturer_name: m?.name ?? state.engine,
      audio_format: "wav",
      // From the engine's placements: a DeepSpeed profile (available where DeepSpeed imports), a GPU profile that holds the model only per request.
      deepspeed_capable: deepspeed.profile !== undefined,
      deepspeed_available: deepspeed.available,
      deepspeed_enabled: deepspeed.enabled,
      lowvram_capable: m?.resources.profiles.some((p) => p.device === "cuda" && p.transientVramMb > 0 && p.vramMb === 0) ?? false,
      lowvram_enabled: state.lowVram,
      generationspeed_capable: caps?.speed ?? false,
      generationspeed_set: 1,
      pitch_capable: caps?.pitch ?? false,
      pitch_enabled: caps?.pitch ?? false,
      pitch_set: 0,
      temperature_capable: false,
      temperature_set: 0.75,
      repetitionpenalty_capable: false,
      repetitionpenalty_set: 10,
      languages_capable: (m?.languages.length ?? 0) > 1,
      multivoice_capable: true,
      multimodel_capable: engines().length > 1,
      streaming_capable: caps?.streaming ?? false,
      ttsengines_installed: engines().length > 0,
    };
  });

  app.post("/api/reload", async (request, reply) => {
    // AllTalk's "ENGINE - MODEL" form (e.g. "xtts - xttsv2_2.0.3"): the model goes to engines with a `model` option.
    const [engineName, model] = (queryParams(request).tts_method ?? "").split(" - ").map((part) => part.trim());
    const id = engineName ?? "";
    if (model && registry.manifest(id)?.options.model) state.models.set(id, model);
    else if (model)
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `tts_method: engine '${id}' has no models to choose ('${model}')`, { field: "tts_method" });
    if (!id)
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "tts_method: give an engine id (GET /api/currentsettings lists them)", { field: "tts_method" });
    if (!registry.get(id)) throw new ChorusError("CHORUS_ERR_ENGINE_NOT_FOUND", `no engine '${id}'`, { field: "tts_method" });
    await pipeline.voices(id, track(request, reply).signal); // loads it now, through the scheduler; a failure leaves the default as it was
    const { previous } = registry.selection.set(id);
    request.log.info({ engine: id, previous, reason: "reloaded" }, "default engine changed");
    return { status: "model-success" };
  });

  app.post("/api/lowvramsetting", async (request) => {
    const value = (queryParams(request).new_low_vram_value ?? "").toLowerCase();
    if (value !== "true" && value !== "false")
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "new_low_vram_value: must be True or False", { field: "new_low_vram_value" });
    state.lowVram = value === "true";
    // The current engine's placement follows: GPU profiles that keep the whole model resident are skipped.
    app.host.scheduler.setLowVram(state.engine, state.lowVram);
    return { status: "lowvram-success" };
  });

  app.post("/api/deepspeed", async (request) => {
    const value = (queryParams(request).new_deepspeed_value ?? "").toLowerCase();
    if (value !== "true" && value !== "false")
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "new_deepspeed_value: must be True or False", { field: "new_deepspeed_value" });
    const deepspeed = deepspeedOf(state.engine);
    if (value === "false") {
      if (deepspeed.enabled) await app.host.scheduler.setPreferredProfile(state.engine, undefined);
      return { status: "deepspeed-success" };
    }
    if (!deepspeed.profile) return { status: "deepspeed-not-supported", message: `engine '${state.engine}' has no DeepSpeed placement; nothing was changed` };
    if (!deepspeed.available) {
      throw new ChorusError(
        "CHORUS_ERR_REQUEST_INVALID",
        `new_deepspeed_value: DeepSpeed does not import in the ${state.engine} environment, so profile ${deepspeed.profile.name} is not offered; install it there and run chorus plugin setup ${state.engine} (docs/xtts.md#deepspeed)`,
        { field: "new_deepspeed_value" },
      );
    }
    // The engine's placement follows: the DeepSpeed profile first, its other instances retire after their requests.
    await app.host.scheduler.setPreferredProfile(state.engine, deepspeed.profile.name);
    return { status: "deepspeed-success" };
  });

  app.put("/api/stop-generation", async () => {
    const n = running.size;
    for (const c of running) c.abort(new Error("stopped by /api/stop-generation"));
    return { message: n ? "Cancelling current TTS generation" : "No generation in progress", cancelled: n };
  });

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
    const stream = await pipeline.start(speech, controller.signal);
    speechHeaders(reply, stream);
    const out = streamAudio(stream, { format: speech.format });
    void reply.type(out.contentType);
    if (params.output_file) void reply.header("Content-Disposition", `inline; filename="${outputFileName(params.output_file, false)}"`);
    return reply.send(Readable.from(out.body));
  };
  app.get("/api/tts-generate-streaming", streaming);
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
};

/** AllTalk voices are often file names (`female_01.wav`); Chorus voice ids have no extension. */
function voiceId(value: string | undefined): string | undefined {
  const v = value?.trim().replace(/\.wav$/i, "");
  return v ? v : undefined;
}
