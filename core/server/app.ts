/**
 * The HTTP server: a fastify app over a Host. Each API surface is a fastify plugin in its own
 * file; they all go through the same pipeline and scheduler.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Host } from "../host.ts";
import { installErrorHandling } from "./errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { engineRoutes } from "./routes/engines.ts";
import { speechRoutes } from "./routes/speech.ts";
import { schedulerRoutes } from "./routes/scheduler.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { activationRoutes } from "./routes/activation.ts";
import { webRoutes } from "./routes/web.ts";
import { eventRoutes } from "./routes/events.ts";
import { reloadRoutes } from "./routes/reload.ts";
import { accessControl } from "./cors.ts";
import { openaiRoutes } from "./openai/index.ts";
import { alltalkRoutes } from "./alltalk/index.ts";
import { finetuneRoutes } from "./routes/finetune.ts";

declare module "fastify" {
  interface FastifyInstance {
    host: Host;
  }
}

export async function buildApp(host: Host): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: host.log.child({ component: "http" }) as FastifyBaseLogger,
    bodyLimit: host.config.server.bodyLimit,
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
  });
  // Bodies are JSON (or forms on AllTalk routes); plain text gets a 415, as docs/errors.md says.
  app.removeContentTypeParser("text/plain");
  app.decorate("host", host);
  installErrorHandling(app);
  await app.register(accessControl);
  await app.register(healthRoutes);
  await app.register(engineRoutes);
  await app.register(speechRoutes);
  await app.register(schedulerRoutes);
  await app.register(metricsRoutes);
  await app.register(openaiRoutes);
  await app.register(alltalkRoutes);
  await app.register(activationRoutes);
  await app.register(finetuneRoutes);
  await app.register(webRoutes);
  await app.register(eventRoutes);
  await app.register(reloadRoutes);
  return app;
}
