/**
 * The second listener (`compat.xttsApi.port`, e.g. xtts-api-server's 8020) for clients that
 * assume that port: a fastify app with the same access policy (Host check, CORS, API key) and only the
 * xtts-api-server routes, answering everything else as FastAPI does (404 `{"detail":"Not
 * Found"}`, which Mantella's liveness check counts as up). It starts when Chorus's app is ready
 * (a port in use fails the start) and closes with it.
 */
import Fastify, { LogController, type FastifyBaseLogger } from "fastify";
import type { Host } from "../../host.ts";
import { accessControl } from "../cors.ts";
import { hostCheck } from "../host-check.ts";
import type { XttsContext } from "./context.ts";
import { xttsSurface } from "./errors.ts";
import { frameworkHandlers, maxHeaderBytes } from "../framework-errors.ts";
import { ownErrors, SurfaceTable } from "../surface.ts";
import { xttsSurfaceRoutes } from "./routes.ts";
import { closeUnusedConnectionsOnClose } from "../unused-connections.ts";

export async function startSecondListener(host: Host, context: XttsContext, port: number): Promise<() => Promise<void>> {
  const log = host.log.child({ component: "http", listener: "xtts-api" });
  // Every path of this listener is the xtts-api-server surface's, parser errors included.
  const surfaces = new SurfaceTable(xttsSurface);
  const maxHeaderSize = maxHeaderBytes(host.config.text);
  const { clientErrorHandler, frameworkErrors } = frameworkHandlers(surfaces, maxHeaderSize);
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: host.config.server.bodyLimit,
    logController: new LogController({ disableRequestLogging: true }),
    clientErrorHandler,
    frameworkErrors,
    routerOptions: { ignoreTrailingSlash: true },
    // SillyTavern's /tts_stream/?text=... carries the whole text (maxHeaderBytes)
    http: { maxHeaderSize },
  });
  closeUnusedConnectionsOnClose(app);
  app.decorate("host", host);
  app.decorate("surfaces", surfaces);
  ownErrors(app, xttsSurface);
  await app.register(hostCheck);
  await app.register(accessControl);
  await app.register(xttsSurfaceRoutes, { context, ownPrefix: true });
  try {
    const address = await app.listen({ host: host.config.server.host, port });
    log.info({ address }, "xtts-api-server API listening");
  } catch (err) {
    await app.close();
    throw new Error(`compat.xttsApi.port ${port}: cannot listen on ${host.config.server.host}:${port}: ${(err as Error).message}`, { cause: err });
  }
  return async () => {
    // Running requests get the same grace as Chorus's own port, then are cut.
    const timer = setTimeout(() => app.server.closeAllConnections(), host.config.server.shutdownGraceSeconds * 1000);
    await app.close();
    clearTimeout(timer);
  };
}
