/**
 * Speakers, languages, settings, folders and models: the routes SillyTavern, KoboldAI Lite
 * and Mantella call besides synthesis. Folders are confined to the configured ones
 * (compat.xttsApi.speakerFolder, outputFolder, modelFolder).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ChorusError } from "../../errors.ts";
import { sendRanged } from "../alltalk/http.ts";
import { LANGUAGES, parseModel, parseSettings } from "./fields.ts";
import { confineDirectory, subfolders } from "./folders.ts";
import { servingEngine } from "./target.ts";
import type { XttsContext } from "./context.ts";

export function manageRoutes(app: FastifyInstance, ctx: XttsContext): void {
  const { host, state, samples } = ctx;
  const { registry, pipeline, config } = host;
  const engine = () => servingEngine(state, registry, config);
  const voices = () => pipeline.voices(engine());

  /** Where the client reached us (the browser plays preview URLs itself), or compat.xttsApi.publicUrl. */
  const base = (request: FastifyRequest) => (config.compat.xttsApi.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, "");

  app.get("/speakers_list", async () => (await voices()).map((v) => v.id));

  app.get("/speakers", async (request) => {
    const url = base(request);
    const list = await voices();
    const previews = await samples.previewPaths(list);
    return list.map((v, i) => ({ name: v.id, voice_id: v.id, preview_url: `${url}/sample/${previews[i]!}` }));
  });

  app.get("/languages", async () => ({ languages: LANGUAGES }));

  app.get("/sample/*", async (request, reply) => {
    const name = (request.params as Record<string, string>)["*"] ?? "";
    return sendRanged(request, reply, await samples.resolve(name));
  });

  app.get("/get_tts_settings", async () => state.settings);

  app.post("/set_tts_settings", async (request) => {
    state.settings = parseSettings(request.body); // all or nothing: a bad value changes nothing
    return { message: "Settings successfully applied" };
  });

  app.get("/get_folders", async () => ({ speaker_folder: state.speakerFolder, output_folder: state.outputFolder, model_folder: state.roots.modelRoot }));

  app.post("/set_speaker_folder", async (request) => {
    const { speaker_folder } = parseModel(request.body, { speaker_folder: "str" }, "body");
    state.speakerFolder = await confineDirectory(state.roots.speakerRoot, state.roots.speakerRoot, speaker_folder, "speaker_folder");
    return { message: `Speaker folder set to ${state.speakerFolder}` };
  });

  app.post("/set_output", async (request) => {
    const { output_folder } = parseModel(request.body, { output_folder: "str" }, "body");
    state.outputFolder = await confineDirectory(state.roots.outputRoot, state.roots.outputRoot, output_folder, "output_folder");
    return { message: `Output folder set to ${state.outputFolder}` };
  });

  // Engines that can run now (registry.manifest is unset for failed ones and those needing setup).
  const engineIds = () =>
    registry
      .list()
      .map((e) => e.id)
      .filter((id) => registry.manifest(id));

  // Model folders (passed to the engine as option `model`) and the installed engines.
  app.get("/get_models_list", async () => [...new Set([...(await subfolders(state.roots.modelRoot)), ...engineIds()])]);

  app.post("/switch_model", async (request) => {
    const { model_name } = parseModel(request.body, { model_name: "str" }, "body");
    const wanted = model_name.trim();
    const same = (a: string) => a.toLowerCase() === wanted.toLowerCase(); // Mantella lower-cases names
    const engineId = engineIds().find(same);
    if (engineId) {
      if (engineId === engine() && state.model === undefined)
        throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "The model with this name is already loaded in memory", { field: "model_name" });
      await pipeline.voices(engineId); // loads it now, through the scheduler; a failure changes nothing
      state.engine = engineId;
      state.model = undefined;
      return { message: `Model switched to ${engineId}` };
    }
    const models = await subfolders(state.roots.modelRoot);
    const model = models.find(same);
    if (!model)
      throw new ChorusError(
        "CHORUS_ERR_REQUEST_INVALID",
        `A model with \`${wanted}\` name is not in the models folder, the current available models: ${JSON.stringify([...new Set([...models, ...engineIds()])])}`,
        { field: "model_name" },
      );
    if (model === state.model)
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "The model with this name is already loaded in memory", { field: "model_name" });
    const current = engine();
    if (!registry.manifest(current)?.options.model)
      throw new ChorusError(
        "CHORUS_ERR_REQUEST_INVALID",
        `engine '${current}' takes no model option; switch to an engine that loads model folders (GET /get_models_list)`,
        {
          field: "model_name",
        },
      );
    state.model = model;
    return { message: `Model switched to ${model}` };
  });
}
