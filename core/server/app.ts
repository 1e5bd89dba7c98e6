/**
 * The HTTP server: a fastify app over a Host. Each API surface (native, OpenAI under /v1,
 * AllTalk, xtts-api-server) is an encapsulated fastify plugin that renders its own errors
 * (surface.ts); they all go through the same pipeline and scheduler. The access checks
 * (Host, CORS, API key) are root hooks that throw catalogue errors for the surface to render.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Host } from "../host.ts";
import { nativeRoutes } from "./routes/index.ts";
import { catalogueSurface } from "./routes/surface.ts";
import { accessControl } from "./cors.ts";
import { hostCheck } from "./host-check.ts";
import { frameworkHandlers, maxHeaderBytes, rememberRequestUrls } from "./framework-errors.ts";
import { openaiRoutes } from "./openai/index.ts";
import { alltalkRoutes } from "./alltalk/index.ts";
import { xttsApiRoutes } from "./xtts-api/index.ts";
import { ownErrors, SurfaceTable } from "./surface.ts";
import { closeUnusedConnectionsOnClose } from "./unused-connections.ts";

declare module "fastify" {
  interface FastifyInstance {
    host: Host;
  }
}

export async function buildApp(host: Host): Promise<FastifyInstance> {
  // Surfaces that own a URL prefix register it here, for errors raised before routing.
  const surfaces = new SurfaceTable(catalogueSurface);
  const maxHeaderSize = maxHeaderBytes(host.config.text);
  const { clientErrorHandler, frameworkErrors } = frameworkHandlers(surfaces, maxHeaderSize);
  const app = Fastify({
    loggerInstance: host.log.child({ component: "http" }) as FastifyBaseLogger,
    bodyLimit: host.config.server.bodyLimit,
    logController: new LogController({ disableRequestLogging: true }),
    // rejections below the routes (HTTP parser, router) in the catalogue's shape too
    clientErrorHandler,
    frameworkErrors,
    // a missing Host is answered by host-check.ts in the catalogue's shape, not by Node's bare 400;
    // a streaming GET's URL may carry a whole text (maxHeaderBytes)
    http: { requireHostHeader: false, maxHeaderSize },
    // maxParamLength: every URL handed out must be fetchable (AllTalk file names run to 107 characters)
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
  });
  // Bodies are JSON (or forms on AllTalk routes); plain text gets a 415, as docs/errors.md says.
  app.removeContentTypeParser("text/plain");
  rememberRequestUrls(app.server);
  closeUnusedConnectionsOnClose(app);
  app.decorate("host", host);
  app.decorate("surfaces", surfaces);
  // Only what no surface catches reaches the root (none today): the catalogue's shape.
  ownErrors(app, catalogueSurface);
  await app.register(hostCheck);
  await app.register(accessControl);
  await app.register(nativeRoutes);
  await app.register(openaiRoutes, { prefix: "/v1" });
  await app.register(alltalkRoutes);
  await app.register(xttsApiRoutes);
  return app;
}
