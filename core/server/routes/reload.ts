/**
 * POST /api/engines/:id/reload: re-reads the plugin's folder now (a changed folder is
 * validated, trial-booted and swapped in, as the watcher does) and unloads its running
 * instances after their requests, so the next request starts it afresh. Answers the
 * plugin's state and errors afterwards (the dashboard's reload button).
 */
import type { FastifyPluginAsync } from "fastify";
import { ChorusError } from "../../errors.ts";
import { pluginSummaries } from "./events.ts";

export const reloadRoutes: FastifyPluginAsync = async (app) => {
  const { registry, scheduler } = app.host;
  app.post("/api/engines/:id/reload", async (request) => {
    const id = (request.params as { id: string }).id;
    const entry = registry.get(id);
    if (!entry) throw new ChorusError("CHORUS_ERR_ENGINE_NOT_FOUND", `no engine '${id}'`, { field: "engine" });
    // Unload first: a re-read that finds a new version retires the old instances itself, and
    // the answer counts every instance this reload takes down either way.
    const unloading = scheduler.unload(id);
    await registry.refresh(entry.dir);
    request.log.info({ engine: id, unloading, reason: "reload_requested" }, "plugin reloaded");
    const plugin = pluginSummaries(app.host).find((p) => p.id === id);
    return { engine: id, unloading, plugin: plugin ?? null };
  });
};
