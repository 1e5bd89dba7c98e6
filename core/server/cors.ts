/**
 * CORS for browser clients (SillyTavern calls AllTalk's API from the page) and the optional
 * API key. Registered once at the root (not encapsulated), before the routes, so that its
 * hooks cover every route and the 404 handler:
 *   await app.register(accessControl);
 * - Origins come from `compat.cors.origins` (default: any port on localhost). Preflights
 *   (OPTIONS with Access-Control-Request-Method) are answered here with 204, or 403 for other
 *   origins; so are requests other than GET/HEAD that carry another site's Origin.
 * - With `compat.apiKey` set, every route but /health, the web page / (and preflights) needs
 *   `Authorization: Bearer <key>`.
 * Refusals are thrown as catalogue errors: the route's surface (or the 404 handler's) renders
 * them in its API's shape (surface.ts).
 */
import { timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { ChorusError } from "../errors.ts";
import { audioTokenValid } from "./audio-token.ts";

const ALLOWED_HEADERS = ["Authorization", "Cache-Control", "Content-Type", "Accept", "X-Requested-With", "Range"];
/** Every response header a client may want to read (who spoke, what was clamped or ignored, a file's name). */
const EXPOSED_HEADERS = [
  "X-Sample-Rate",
  "X-Chorus-Engine",
  "X-Chorus-Voice",
  "X-Chorus-Profile",
  "X-Chorus-Fallback",
  "X-Chorus-Clamped",
  "X-Chorus-Ignored",
  "Content-Length",
  "Content-Range",
  "Content-Disposition",
  "Retry-After",
];

/** Compiles origin patterns (`*` = any characters but `/`; a lone `*` = every origin). */
export function originMatcher(patterns: string[]): (origin: string) => boolean {
  if (patterns.includes("*")) return () => true;
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .toLowerCase()
          .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, "[^/]*")}$`,
      ),
  );
  return (origin) => res.some((re) => re.test(origin.toLowerCase()));
}

/**
 * `origin` is this server's own (a page it served, e.g. reached by a LAN address): same
 * scheme, host and port as the request's Host (default ports normalised). Only addresses and
 * localhost count: a domain name could be an attacker's, rebound to this machine (DNS
 * rebinding); a page served under a domain (reverse proxy) lists it in compat.cors.origins.
 */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const page = new URL(origin);
    const server = new URL(`${page.protocol}//${host}`);
    if (page.host !== server.host) return false;
    return server.hostname === "localhost" || isIP(server.hostname.replace(/^\[|\]$/g, "")) !== 0;
  } catch {
    return false; // "null" and other opaque origins
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function keyMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer\s+(.*)$/i.exec(header ?? "");
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const want = Buffer.from(key);
  return given.length === want.length && timingSafeEqual(given, want);
}

const plugin: FastifyPluginAsync = async (app) => {
  const compat = app.host.config.compat;
  const allowed = originMatcher(compat.cors.origins);
  const apiKey = compat.apiKey;

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    const originOk = typeof origin === "string" && allowed(origin);
    if (originOk) {
      void reply.header("Access-Control-Allow-Origin", origin);
      void reply.header("Access-Control-Allow-Credentials", "true");
      void reply.header("Access-Control-Expose-Headers", EXPOSED_HEADERS.join(", "));
    }
    if (origin) void reply.header("Vary", "Origin");

    const forbidden = () =>
      new ChorusError("CHORUS_ERR_ORIGIN_FORBIDDEN", `origin '${origin ?? ""}' is not allowed (compat.cors.origins)`, { field: "Origin" });
    if (request.method === "OPTIONS" && request.headers["access-control-request-method"]) {
      if (!originOk) throw forbidden();
      const requested = String(request.headers["access-control-request-headers"] ?? "");
      void reply.header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
      void reply.header("Access-Control-Allow-Headers", requested || ALLOWED_HEADERS.join(", "));
      void reply.header("Access-Control-Max-Age", "600");
      if (request.headers["access-control-request-private-network"] === "true") void reply.header("Access-Control-Allow-Private-Network", "true");
      return reply.status(204).send();
    }
    // A browser sends "simple" cross-site POSTs (forms) without a preflight: a page from a
    // foreign origin must not change state (switch engines, write files) either. The server's
    // own origin (a page it serves, or a LAN address) is always allowed.
    const unsafe = request.method !== "GET" && request.method !== "HEAD";
    if (unsafe && origin && !originOk && !sameOrigin(origin, request.headers.host)) throw forbidden();

    // /health and the web page and its assets (the page sends the key with its own API calls) need no key.
    const path = request.url.split("?")[0];
    if (!apiKey || path === "/health" || path === "/" || path === "/favicon.ico" || path?.startsWith("/web/")) return;
    if (keyMatches(request.headers.authorization, apiKey)) return;
    // a generated file's signed link (audio-token.ts): what an <audio> element can play
    const file = /^\/audio\/([^/]+)$/.exec(path ?? "")?.[1];
    if (
      file &&
      (request.method === "GET" || request.method === "HEAD") &&
      audioTokenValid(safeDecode(file), (request.query as Record<string, string> | undefined)?.token, apiKey)
    )
      return;
    void reply.header("WWW-Authenticate", 'Bearer realm="chorus"');
    throw new ChorusError("CHORUS_ERR_UNAUTHORIZED", "missing or wrong API key (Authorization: Bearer <key>)", { field: "Authorization" });
  });
};

// Not encapsulated (what fastify-plugin does), so the hook applies to every route.
(plugin as unknown as Record<symbol, boolean>)[Symbol.for("skip-override")] = true;

export const accessControl = plugin;
