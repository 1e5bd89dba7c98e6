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
import { hostCheck } from "./host-check.ts";
import { clientErrorHandler, frameworkErrors, rememberRequestUrls } from "./framework-errors.ts";
import { openaiRoutes } from "./openai/index.ts";
import { alltalkRoutes } from "./alltalk/index.ts";
import { xttsApiRoutes } from "./xtts-api/index.ts";
import { finetuneRoutes } from "./routes/finetune.ts";
import { finetuneJobRoutes } from "./routes/finetune-jobs.ts";

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
    // rejections below the routes (HTTP parser, router) in the catalogue's shape too
    clientErrorHandler,
    frameworkErrors,
    // a missing Host is answered by host-check.ts in the catalogue's shape, not by Node's bare 400
    http: { requireHostHeader: false },
    // maxParamLength: every URL handed out must be fetchable (AllTalk file names run to 107 characters)
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
  });
  // Bodies are JSON (or forms on AllTalk routes); plain text gets a 415, as docs/errors.md says.
  app.removeContentTypeParser("text/plain");
  rememberRequestUrls(app.server);
  app.decorate("host", host);
  installErrorHandling(app);
  await app.register(hostCheck);
  await app.register(accessControl);
  await app.register(healthRoutes);
  await app.register(engineRoutes);
  await app.register(speechRoutes);
  await app.register(schedulerRoutes);
  await app.register(metricsRoutes);
  await app.register(openaiRoutes);
  await app.register(alltalkRoutes);
  await app.register(xttsApiRoutes);
  await app.register(activationRoutes);
  await app.register(finetuneRoutes);
  await app.register(finetuneJobRoutes);
  await app.register(webRoutes);
  await app.register(eventRoutes);
  await app.register(reloadRoutes);
  return app;
}
