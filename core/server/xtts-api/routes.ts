/**
 * The xtts-api-server routes as one encapsulated fastify plugin with its own errors in
 * FastAPI's shapes (errors.ts): on Chorus's port (index.ts) and on the second listener
 * (listener.ts), where it also owns the 404s.
 */
import type { FastifyPluginAsync } from "fastify";
import { ownErrors } from "../surface.ts";
import type { XttsContext } from "./context.ts";
import { xttsSurface } from "./errors.ts";
import { manageRoutes } from "./manage-routes.ts";
import { synthRoutes } from "./synth-routes.ts";

export interface XttsRoutesOptions {
  context: XttsContext;
  /** The plugin owns every path of its listener (404 `{"detail":"Not Found"}`). */
  ownPrefix?: boolean;
}

export const xttsSurfaceRoutes: FastifyPluginAsync<XttsRoutesOptions> = async (app, options) => {
  // FastAPI reads a JSON body whatever its content type says (or when it has none).
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => {
    const text = (body as string).trim();
    if (!text) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // The access checks' refusals (Host, CORS, API key) on these routes land here too.
  ownErrors(app, xttsSurface, { ownPrefix: options.ownPrefix });
  synthRoutes(app, options.context);
  manageRoutes(app, options.context);
};
