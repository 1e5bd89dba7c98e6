/**
 * xtts-api-server-compatible API (daswer123/xtts-api-server 0.9, the contract SillyTavern's
 * XTTSv2 provider, KoboldAI Lite, Open-LLM-VTuber and Mantella use): /speakers, /speakers_list,
 * /languages, /set_tts_settings, /get_tts_settings, /tts_to_audio/, /tts_stream, /tts_to_file,
 * /sample/{file}, /get_folders, /get_models_list, /switch_model, /set_speaker_folder,
 * /set_output. Errors in FastAPI's `{"detail": ...}` shape. Served on Chorus's port and, with
 * `compat.xttsApi.port`, on a second listener of its own (listener.ts). docs/compat.md.
 */
import type { FastifyPluginAsync } from "fastify";
import { createContext } from "./context.ts";
import { startSecondListener } from "./listener.ts";
import { xttsSurfaceRoutes } from "./routes.ts";

export const xttsApiRoutes: FastifyPluginAsync = async (app) => {
  const host = app.host;
  if (!host.config.compat.xttsApi.enabled) return;
  // One context for both listeners: a setting made on one applies on the other.
  const context = createContext(host);
  await app.register(xttsSurfaceRoutes, { context });

  const port = host.config.compat.xttsApi.port;
  if (port !== null) {
    let close: (() => Promise<void>) | undefined;
    app.addHook("onReady", async () => {
      close = await startSecondListener(host, context, port);
    });
    app.addHook("onClose", async () => close?.());
  }
};
