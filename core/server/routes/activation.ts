/**
 * Runtime engine switching: `POST /api/engines/:id/activate` (native) and the AllTalk-style
 * `POST /api/reload?tts_method=ID` (unless the AllTalk API already serves it). Both make `id`
 * the default engine for requests that name none, through the registry's selection service,
 * which persists the choice in `<dataDir>/state.json`. Per-request engine choice is untouched.
 */
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { fromZod } from "../errors.ts";

const ActivateParams = z.object({ id: z.string().min(1) });
const ActivateQuery = z.object({ load: z.enum(["true", "false"]).optional() });
const ReloadQuery = z.object({ tts_method: z.string().trim().min(1, "give an engine id (GET /api/engines lists them)") });

export const activationRoutes: FastifyPluginAsync = async (app) => {
  const { registry, pipeline } = app.host;

  app.post("/api/engines/:id/activate", async (request) => {
    const params = ActivateParams.safeParse(request.params);
    if (!params.success) throw fromZod(params.error);
    const query = ActivateQuery.safeParse(request.query);
    if (!query.success) throw fromZod(query.error, "query");
    const { default: id, previous } = registry.selection.set(params.data.id);
    // `?load=true` warms the engine now instead of on its first request.
    if (query.data.load === "true") await pipeline.voices(id);
    request.log.info({ engine: id, previous, reason: "activated" }, "default engine changed");
    return { default: id, previous };
  });

  if (app.hasRoute({ method: "POST", url: "/api/reload" })) return;
  app.post("/api/reload", async (request) => {
    const query = ReloadQuery.safeParse(request.query);
    if (!query.success) throw fromZod(query.error);
    const { default: id, previous } = registry.selection.set(query.data.tts_method);
    await pipeline.voices(id); // AllTalk's reload loads the model: load it now, through the scheduler
    request.log.info({ engine: id, previous, reason: "reloaded" }, "default engine changed");
    return { status: "model-success", engine: id };
  });
};
