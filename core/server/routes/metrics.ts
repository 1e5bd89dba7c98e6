/** GET /metrics: Prometheus text format (scheduler queue, loads, evictions, fallbacks, OOMs, timings). */
import type { FastifyPluginAsync } from "fastify";

export const metricsRoutes: FastifyPluginAsync = async (app) => {
  app.get("/metrics", async (_request, reply) => {
    const registry = app.host.scheduler.metrics.registry;
    void reply.type(registry.contentType);
    return registry.metrics();
  });
};
