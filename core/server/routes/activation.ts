/**
 * Runtime engine switching: `POST /api/engines/:id/activate` makes `id` the default engine
 * for requests that name none, through the registry's selection service, which persists the
 * choice in `<dataDir>/state.json`. Per-request engine choice is untouched. (AllTalk's
 * `POST /api/reload?tts_method=ID` does the same, in the AllTalk API.)
 */
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { fromZod } from "../errors.ts";
import { abortOnDisconnect } from "./speech.ts";

const ActivateParams = z.object({ id: z.string().min(1) });
const ActivateQuery = z.object({ load: z.enum(["true", "false"]).optional() });

export const activationRoutes: FastifyPluginAsync = async (app) => {
  const { registry, pipeline } = app.host;

  app.post("/api/engines/:id/activate", async (request, reply) => {
    const params = ActivateParams.safeParse(request.params);
    if (!params.success) throw fromZod(params.error);
    const query = ActivateQuery.safeParse(request.query);
    if (!query.success) throw fromZod(query.error, "query");
    // `?load=true` loads the engine now instead of on its first request; an engine that cannot
    // load does not become the default.
    if (query.data.load === "true") await pipeline.voices(params.data.id, abortOnDisconnect(request, reply));
    const { default: id, previous } = registry.selection.set(params.data.id);
    request.log.info({ engine: id, previous, reason: "activated" }, "default engine changed");
    return { default: id, previous };
  });
};
