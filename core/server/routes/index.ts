/**
 * The native API (/health, /api/engines, /api/speech, /api/scheduler, /metrics, the web page,
 * events, reload, fine-tuning): one encapsulated plugin whose errors and 404s (for every path
 * no other surface owns) are in the catalogue's shape.
 */
import type { FastifyPluginAsync } from "fastify";
import { ownErrors } from "../surface.ts";
import { activationRoutes } from "./activation.ts";
import { engineRoutes } from "./engines.ts";
import { eventRoutes } from "./events.ts";
import { finetuneRoutes } from "./finetune.ts";
import { finetuneJobRoutes } from "./finetune-jobs.ts";
import { healthRoutes } from "./health.ts";
import { metricsRoutes } from "./metrics.ts";
import { reloadRoutes } from "./reload.ts";
import { schedulerRoutes } from "./scheduler.ts";
import { speechRoutes } from "./speech.ts";
import { catalogueSurface } from "./surface.ts";
import { webRoutes } from "./web.ts";

export const nativeRoutes: FastifyPluginAsync = async (app) => {
  ownErrors(app, catalogueSurface, { ownPrefix: true });
  await app.register(healthRoutes);
  await app.register(engineRoutes);
  await app.register(speechRoutes);
  await app.register(schedulerRoutes);
  await app.register(metricsRoutes);
  await app.register(activationRoutes);
  await app.register(finetuneRoutes);
  await app.register(finetuneJobRoutes);
  await app.register(webRoutes);
  await app.register(eventRoutes);
  await app.register(reloadRoutes);
};
