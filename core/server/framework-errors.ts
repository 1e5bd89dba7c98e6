/**
 * Rejections made below the routes — by Node's HTTP parser (malformed request, headers too
 * large, timeout) or by fastify's router (bad URL encoding, a path parameter over
 * maxParamLength) — in the catalogue's shape, `{"error":{"code","message","field"}}`, or
 * OpenAI's under /v1, like every other error. Passed to Fastify() as `clientErrorHandler`
 * and `frameworkErrors`.
 */
import http from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ChorusError, type ErrorCode } from "../errors.ts";
import { sendOpenAIError, toOpenAIError } from "./openai/errors.ts";

/** The catalogue error for a parser-level failure (Node's `clientError` codes). */
export function clientErrorOf(err: NodeJS.ErrnoException): ChorusError {
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") return new ChorusError("CHORUS_ERR_REQUEST_TIMEOUT", "the request was not received in time");
  if (err.code === "HPE_HEADER_OVERFLOW") return new ChorusError("CHORUS_ERR_REQUEST_HEADERS_TOO_LARGE", "the request line and headers are larger than the server accepts (16 KB)", { field: "(headers)" });
  return new ChorusError("CHORUS_ERR_REQUEST_MALFORMED", `the request is not valid HTTP (${err.code ?? "parse error"})`, { field: "(request)" });
}

/** Writes the error as a complete HTTP response on a socket the parser gave up on, then closes it. */
export function clientErrorHandler(e: Error, socket: Socket): void {
  const err = e as NodeJS.ErrnoException & { rawPacket?: unknown };
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const error = clientErrorOf(err);
  // The request line (if it was parsed) or the raw bytes tell which API the client spoke.
  const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.subarray(0, 64).toString("latin1") : "";
  const url = (socket as unknown as Record<symbol, string | undefined>)[LAST_URL];
  const openai = url !== undefined ? url.startsWith("/v1/") : /^[A-Z]+ \/v1\//.test(raw);
  const body = JSON.stringify(openai ? toOpenAIError(error).body : error.toJSON());
  const status = error.statusCode;
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? "Error"}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

const LAST_URL = Symbol("chorus.lastUrl");

/** Remembers each connection's latest request URL, for errors the parser reports after it. */
export function rememberRequestUrls(server: http.Server): void {
  server.prependListener("request", (req: http.IncomingMessage) => {
    (req.socket as unknown as Record<symbol, string | undefined>)[LAST_URL] = req.url;
  });
}

const FRAMEWORK: Record<string, { code: ErrorCode; message: (url: string) => string; field: string }> = {
  FST_ERR_BAD_URL: { code: "CHORUS_ERR_REQUEST_MALFORMED", message: (u) => `the URL is not validly encoded: ${u}`, field: "(url)" },
  FST_ERR_MAX_PARAM_LENGTH: { code: "CHORUS_ERR_REQUEST_URI_TOO_LONG", message: () => "a path segment of the URL is longer than 256 characters", field: "(url)" },
};

export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const known = FRAMEWORK[error.code];
  const url = String(request.raw.url ?? "").slice(0, 200);
  const err = known ? new ChorusError(known.code, known.message(url), { field: known.field }) : new ChorusError("CHORUS_ERR_REQUEST_MALFORMED", error.message, { field: "(request)" });
  if (url.startsWith("/v1/")) return void sendOpenAIError(reply, err);
  void reply.status(err.statusCode).type("application/json; charset=utf-8").send(err.toJSON());
}
