/**
 * AllTalk-compatible API (AllTalk's default port is 7851, so its clients work unchanged):
 * /api/ready, /api/rvcvoices, /api/currentsettings, /api/reload, /api/lowvramsetting,
 * /api/deepspeed, /api/stop-generation, /api/tts-generate, /api/tts-generate-streaming,
 * /api/previewvoice/ and the generated files under /audio/. (/api/voices is the native route,
 * whose `{voices:[ids]}` is already AllTalk's shape.) Forms are application/x-www-form-urlencoded
 * or multipart/form-data (as FastAPI's `Form` takes both). Voices may be `engine:voice` or a
 * language code on every route (voices/reference.ts).
 */
import fs from "node:fs/promises";
import type { FastifyPluginAsync } from "fastify";
import { ownErrors } from "../surface.ts";
import { createContext } from "./context.ts";
import { allTalkSurface } from "./http.ts";
import { multipartBoundary, parseMultipart } from "./multipart.ts";
import { settingsRoutes } from "./settings-routes.ts";
import { synthRoutes } from "./synth-routes.ts";

export const alltalkRoutes: FastifyPluginAsync = async (app) => {
  if (!app.host.config.compat.alltalk.enabled) return;
  const ctx = createContext(app);
  await fs.mkdir(ctx.outputsDir, { recursive: true });

  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addContentTypeParser("multipart/form-data", { parseAs: "buffer" }, (req, body, done) => {
    try {
      done(null, parseMultipart(body as Buffer, multipartBoundary(req.headers["content-type"])));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  ownErrors(app, allTalkSurface);

  // The control routes read only their query string (FastAPI query parameters upstream, which
  // never looks at the body): a body of any type, or an empty one declared as JSON, is ignored
  // rather than refused with 415/400 (fetch(url, {method: "POST", body: JSON.stringify(...)})
  // sends text/plain; Python clients often send Content-Type: application/json and no body).
  await app.register(async (control) => {
    control.removeAllContentTypeParsers();
    control.addContentTypeParser("*", { parseAs: "buffer" }, (_request, _body, done) => done(null, undefined));
    settingsRoutes(control, ctx);
  });
  synthRoutes(app, ctx);
};
