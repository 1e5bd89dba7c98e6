/** GET /health: answers from the event loop even while engines synthesise (they run in workers). */
import type { FastifyPluginAsync } from "fastify";

export const healthRoutes: FastifyPluginAsync = async (app) => {
  const started = Date.now();
  app.get("/health", async () => ({
    status: "ok",
    uptimeSeconds: Math.round((Date.now() - started) / 1000),
    defaultEngine: app.host.registry.selection.current(),
    loadedEngines: app.host.scheduler.residents().map((r) => r.engineId),
  }));
};
