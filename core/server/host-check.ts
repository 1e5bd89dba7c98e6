/**
 * DNS-rebinding protection: every request's Host header must name this machine as a
 * browser could only reach it legitimately — localhost (and *.localhost), an IP address
 * (a rebinding attack needs a domain name: with an address the page's origin is the server's
 * own), the configured `server.host`, or a name in `server.allowedHosts` ("*" allows any).
 * Anything else is refused with 403 CHORUS_ERR_HOST_FORBIDDEN before any route runs, so an
 * attacker's page rebound to 127.0.0.1 can read nothing (GET routes included).
 * Registered at the root, not encapsulated, so it covers every route and the 404 handler; the
 * refusal is thrown, and the route's surface renders it in its API's shape (surface.ts).
 */
import { isIP } from "node:net";
import type { FastifyPluginAsync } from "fastify";
import { ChorusError } from "../errors.ts";

/** The host name of a Host header value (no port, no brackets, lower case, no trailing dot). */
export function hostName(header: string): string | undefined {
  try {
    return new URL(`http://${header}`).hostname
      .replace(/^\[|\]$/g, "")
      .replace(/\.$/, "")
      .toLowerCase();
  } catch {
    return undefined;
  }
}

export function hostAllowed(header: string | undefined, names: string[]): boolean {
  if (names.includes("*")) return true;
  if (header === undefined || header === "") return true; // HTTP/1.0 without Host: no browser sends that
  const name = hostName(header);
  if (!name) return false;
  if (name === "localhost" || name.endsWith(".localhost") || isIP(name) !== 0) return true;
  return names.some((n) => n.toLowerCase().replace(/\.$/, "") === name);
}

const plugin: FastifyPluginAsync = async (app) => {
  const server = app.host.config.server;
  const names = [...server.allowedHosts, server.host];
  app.addHook("onRequest", async (request) => {
    const host = request.headers.host;
    if (host === undefined && request.raw.httpVersion === "1.1") {
      throw new ChorusError("CHORUS_ERR_REQUEST_MALFORMED", "an HTTP/1.1 request needs a Host header", { field: "Host" });
    }
    if (hostAllowed(host, names)) return;
    throw new ChorusError("CHORUS_ERR_HOST_FORBIDDEN", `Host '${String(host).slice(0, 100)}' is not this server's (add it to server.allowedHosts)`, {
      field: "Host",
    });
  });
};

(plugin as unknown as Record<symbol, boolean>)[Symbol.for("skip-override")] = true;

export const hostCheck = plugin;
