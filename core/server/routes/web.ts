/**
 * GET /: the web page (core/web/index.html): engines and their state, switching the default
 * engine at runtime, and trying voices, all through the public API. The page holds no data
 * of its own, so it is served without the API key (its API calls send the key).
 */
import fs from "node:fs";
import type { FastifyPluginAsync } from "fastify";

const PAGE = fs.readFileSync(new URL("../../web/index.html", import.meta.url), "utf8");

export const webRoutes: FastifyPluginAsync = async (app) => {
  app.get("/", async (_request, reply) =>
    reply
      .type("text/html; charset=utf-8")
      .header("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; media-src 'self' blob:")
      .header("X-Content-Type-Options", "nosniff")
      .send(PAGE),
  );
};
