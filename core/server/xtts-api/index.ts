/**
 * xtts-api-server-compatible API (daswer123/xtts-api-server 0.9, the contract SillyTavern's
 * XTTSv2 provider, KoboldAI Lite, Open-LLM-VTuber and Mantella use): /speakers, /speakers_list,
 * /languages, /set_tts_settings, /get_tts_settings, /tts_to_audio/, /tts_stream, /tts_to_file,
 * /sample/{file}, /get_folders, /get_models_list, /switch_model, /set_speaker_folder,
 * /set_output. Errors in FastAPI's `{"detail": ...}` shape. Served on Chorus's port and, with
 * `compat.xttsApi.port`, on a second listener of its own (listener.ts). docs/compat.md.
 */
import type { FastifyPluginAsync } from "fastify";
import { createContext, type XttsContext } from "./context.ts";
import { sendDetail, xttsErrorHandler } from "./errors.ts";
import { startSecondListener } from "./listener.ts";
import { manageRoutes } from "./manage-routes.ts";
import { synthRoutes } from "./synth-routes.ts";

export interface XttsApiOptions {
  /** Shared with another listener; made here when absent. */
  context?: XttsContext;
  /** This instance is the second listener (it starts none itself). */
  secondary?: boolean;
}

export const xttsApiRoutes: FastifyPluginAsync<XttsApiOptions> = async (app, options) => {
  const host = app.host;
  if (!host.config.compat.xttsApi.enabled) return;
  const ctx = options.context ?? createContext(host);

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
  app.setErrorHandler(xttsErrorHandler);
  // The access check (CORS, API key) answers these routes' refusals in the same shape.
  app.addHook("onRoute", (route) => {
    route.config = { ...(route.config as object), sendError: sendDetail } as typeof route.config;
  });
  synthRoutes(app, ctx);
  manageRoutes(app, ctx);

  const port = host.config.compat.xttsApi.port;
  if (!options.secondary && port !== null) {
    let close: (() => Promise<void>) | undefined;
    app.addHook("onReady", async () => {
      close = await startSecondListener(host, ctx, port);
    });
    app.addHook("onClose", async () => close?.());
  }
};
