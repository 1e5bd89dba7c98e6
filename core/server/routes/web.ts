/**
 * The web app (core/web/): GET / (the page), GET /web/* (its modules, styles and icons),
 * GET /favicon.ico, GET /api/web/config (what the page needs to know of the server's
 * settings) and GET /api/web/datasets (the folders the fine-tune page can check). Every asset is a file of core/web read at start-up, so the page works without
 * network access and nothing outside that folder can be served. The assets hold no data,
 * so they are served without the API key (the page's API calls send the key).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { AUDIO_FORMATS } from "../../audio/output/formats.ts";
import { CHORUS_ROOT } from "../../config/load.ts";

const WEB_ROOT = fileURLToPath(new URL("../../web/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/** Same-origin only: no inline script, no other site's code, styles, fonts or media. */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

interface Asset {
  type: string;
  body: Buffer;
}

/** The servable files: `/web/<path>` for each file under core/web with a known type. */
export function readAssets(root = WEB_ROOT): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const item of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, item.name);
      if (item.isDirectory()) walk(full);
      const type = TYPES[path.extname(item.name)];
      if (item.isFile() && type) assets.set(`/web/${path.relative(root, full).split(path.sep).join("/")}`, { type, body: fs.readFileSync(full) });
    }
  };
  walk(root);
  return assets;
}

export const webRoutes: FastifyPluginAsync = async (app) => {
  const assets = readAssets();
  const { config } = app.host;
  const send = (reply: FastifyReply, asset: Asset, cache: string) =>
    reply
      .type(asset.type)
      .header("Content-Security-Policy", WEB_CSP)
      .header("X-Content-Type-Options", "nosniff")
      .header("Referrer-Policy", "no-referrer")
      .header("Cache-Control", cache)
      .send(asset.body);

  app.get("/", async (_request, reply) => send(reply, assets.get("/web/index.html")!, "no-cache"));
  app.get("/favicon.ico", async (_request, reply) => send(reply, assets.get("/web/favicon.ico")!, "public, max-age=86400"));
  app.get("/web/*", async (request, reply) => {
    const asset = assets.get(request.url.split("?")[0]!);
    if (!asset) return reply.status(404).type("text/plain; charset=utf-8").send("not found");
    // no-cache: the browser revalidates, so an upgraded server never runs yesterday's modules.
    return send(reply, asset, "no-cache");
  });

  // The folders the fine-tune page offers: each configured dataset folder and its subfolders.
  app.get("/api/web/datasets", async () => {
    const folders: string[] = [];
    for (const dir of config.finetune.datasetDirs.map((d) => path.resolve(CHORUS_ROOT, d))) {
      if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) continue;
      folders.push(dir);
      for (const item of fs.readdirSync(dir, { withFileTypes: true }))
        if (item.isDirectory() && !item.name.startsWith(".")) folders.push(path.join(dir, item.name));
    }
    return { datasetDirs: config.finetune.datasetDirs, folders };
  });

  app.get("/api/web/config", async () => ({
    textMaxLength: config.text.maxLength,
    /** The OpenAI route's own limit (compat.openai.maxInput), for the formats it makes. */
    openaiMaxInput: config.compat.openai.maxInput,
    formats: config.compat.openai.enabled ? [...AUDIO_FORMATS].filter((f) => f !== "pcm") : ["wav"],
  }));
};
