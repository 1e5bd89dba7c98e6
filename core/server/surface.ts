/**
 * What an API surface (native, OpenAI, AllTalk, xtts-api-server) owns: how its errors look.
 * A surface is an encapsulated fastify plugin; `ownErrors` gives it its error handler and,
 * where it owns a URL prefix, its 404 handler. The access hooks (host-check.ts, cors.ts) only
 * throw catalogue errors: fastify hands them to the error handler of the route (or of the
 * prefix's 404 handler), so the surface decides the shape. Errors raised before routing (the
 * HTTP parser, the router: framework-errors.ts) find their surface by the prefixes surfaces
 * registered here.
 */
import type { FastifyInstance } from "fastify";
import { ChorusError } from "../errors.ts";
import { logError, withRequestDetails } from "./errors.ts";

/** An error as one surface renders it. `cause` is the catalogue error it came from (logged). */
export interface Rendering {
  status: number;
  body: unknown;
  retryAfter?: number;
  cause?: ChorusError;
  /** Default: application/json; charset=utf-8. */
  contentType?: string;
}

export interface Surface {
  name: string;
  /** Renders any error; `url` is the request's (some surfaces name fields by route). */
  render(error: unknown, url: string): Rendering;
  /** The body of a 404 for an unknown path under the surface's prefix (default: the catalogue error rendered). */
  notFound?(method: string, url: string): Rendering;
  /** What its routes' bodies may be, for a 415's message (default: JSON). */
  accepts?: string;
}

const JSON_BODY = "JSON with Content-Type: application/json";

/** The surfaces that own a URL prefix, for errors that happen before a route is found. */
export class SurfaceTable {
  private readonly entries: { prefix: string; surface: Surface }[] = [];
  constructor(private readonly fallback: Surface) {}

  add(prefix: string, surface: Surface): void {
    this.entries.push({ prefix: prefix.replace(/\/$/, ""), surface });
    this.entries.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The surface owning `url` (longest prefix), else the fallback. */
  forUrl(url: string): Surface {
    const path = url.split("?")[0] ?? "";
    const hit = this.entries.find(({ prefix }) => prefix === "" || path === prefix || path.startsWith(`${prefix}/`));
    return hit?.surface ?? this.fallback;
  }
}

declare module "fastify" {
  interface FastifyInstance {
    surfaces?: SurfaceTable;
  }
}

const JSON_TYPE = "application/json; charset=utf-8";

export function routeNotFound(method: string, url: string): ChorusError {
  return new ChorusError("CHORUS_ERR_ROUTE_NOT_FOUND", `no route ${method} ${url.split("?")[0]}`);
}

/**
 * Installs `surface`'s error handler on `app` (this plugin's routes and hooks); with
 * `ownPrefix`, also the 404 handler for the plugin's prefix, and registers the prefix for
 * errors raised before routing.
 */
export function ownErrors(app: FastifyInstance, surface: Surface, options: { ownPrefix?: boolean } = {}): void {
  app.setErrorHandler((error, request, reply) => {
    const r = surface.render(withRequestDetails(error, request, surface.accepts ?? JSON_BODY), request.url);
    if (r.cause) logError(request.log, r.cause, error);
    if (r.retryAfter !== undefined) void reply.header("Retry-After", String(Math.ceil(r.retryAfter)));
    // A route may have set an audio type before it failed: the error is JSON.
    return reply
      .status(r.status)
      .type(r.contentType ?? JSON_TYPE)
      .send(r.body);
  });
  if (!options.ownPrefix) return;
  app.surfaces?.add(app.prefix, surface);
  app.setNotFoundHandler((request, reply) => {
    const r = surface.notFound?.(request.method, request.url) ?? surface.render(routeNotFound(request.method, request.url), request.url);
    return reply
      .status(r.status)
      .type(r.contentType ?? JSON_TYPE)
      .send(r.body);
  });
}
