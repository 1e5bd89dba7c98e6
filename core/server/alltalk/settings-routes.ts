/**
 * AllTalk's control routes: /api/ready, /api/rvcvoices, /api/currentsettings, /api/reload,
 * /api/lowvramsetting, /api/deepspeed and /api/stop-generation.
 */
import type { FastifyInstance } from "fastify";
import { ChorusError } from "../../errors.ts";
import type { AllTalkContext } from "./context.ts";
import { queryParams } from "./http.ts";

export function settingsRoutes(app: FastifyInstance, ctx: AllTalkContext): void {
  const { state, running, track } = ctx;
  const { registry, pipeline } = ctx.host;
  const engines = () => registry.list().filter((e) => e.manifest && e.status !== "failed");

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
}
