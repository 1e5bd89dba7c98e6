/**
 * Rejections made below the routes — by Node's HTTP parser (malformed request, headers too
 * large, timeout) or by fastify's router (bad URL encoding, a path parameter over
 * maxParamLength) — as catalogue errors rendered by the surface that owns the URL's prefix
 * (surface.ts: OpenAI's shape under /v1, the catalogue's elsewhere), like every other error.
 * `frameworkHandlers(table)` gives Fastify()'s `clientErrorHandler` and `frameworkErrors`.
 */
import http from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ChorusError, type ErrorCode } from "../errors.ts";
import type { SurfaceTable } from "./surface.ts";

/**
 * The most bytes of request line and headers a listener takes: 16 KB, plus room for a GET URL
 * that carries a whole text of `text.maxLength` characters in any script (up to 12 bytes each
 * percent-encoded): SillyTavern puts `/tts_stream/?text=...` and AllTalk's
 * `/api/tts-generate-streaming?text=...` straight into an <audio> src. Node's default, 16 KB,
 * refused 2,000 Chinese characters with a 431.
 */
export function maxHeaderBytes(text: { maxLength: number }): number {
  return 16 * 1024 + 12 * text.maxLength;
}

/** The catalogue error for a parser-level failure (Node's `clientError` codes); `headerLimit` is the listener's maxHeaderBytes. */
export function clientErrorOf(err: NodeJS.ErrnoException, headerLimit = 16 * 1024): ChorusError {
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") return new ChorusError("CHORUS_ERR_REQUEST_TIMEOUT", "the request was not received in time");
  if (err.code === "HPE_HEADER_OVERFLOW")
    return new ChorusError(
      "CHORUS_ERR_REQUEST_HEADERS_TOO_LARGE",
      `the request line and headers are larger than the server accepts (${Math.floor(headerLimit / 1024)} KB: 16 KB plus 12 bytes per character of text.maxLength)`,
      { field: "(headers)" },
    );
  return new ChorusError("CHORUS_ERR_REQUEST_MALFORMED", `the request is not valid HTTP (${err.code ?? "parse error"})`, { field: "(request)" });
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
  FST_ERR_MAX_PARAM_LENGTH: {
    code: "CHORUS_ERR_REQUEST_URI_TOO_LONG",
    message: () => "a path segment of the URL is longer than 256 characters",
    field: "(url)",
  },
};

/** The request line's URL: remembered (rememberRequestUrls) or read from the raw bytes. */
function requestUrl(socket: Socket, rawPacket: unknown): string {
  const url = (socket as unknown as Record<symbol, string | undefined>)[LAST_URL];
  if (url !== undefined) return url;
  const raw = Buffer.isBuffer(rawPacket) ? rawPacket.subarray(0, 256).toString("latin1") : "";
  return /^[A-Z]+ (\S+)/.exec(raw)?.[1] ?? "";
}

export interface FrameworkHandlers {
  clientErrorHandler(e: Error, socket: Socket): void;
  frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void;
}

/** Handlers that render pre-routing errors in the shape of the surface owning the URL; `headerLimit` as clientErrorOf's. */
export function frameworkHandlers(surfaces: SurfaceTable, headerLimit?: number): FrameworkHandlers {
  return {
    /** Writes the error as a complete HTTP response on a socket the parser gave up on, then closes it. */
    clientErrorHandler(e, socket) {
      const err = e as NodeJS.ErrnoException & { rawPacket?: unknown };
      if (err.code === "ECONNRESET" || socket.destroyed) return;
      const url = requestUrl(socket, err.rawPacket);
      const { status, body, contentType } = surfaces.forUrl(url).render(clientErrorOf(err, headerLimit), url);
      const text = JSON.stringify(body);
      if (socket.writable) {
        socket.write(
          `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? "Error"}\r\nContent-Type: ${contentType ?? "application/json; charset=utf-8"}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
        );
      }
      socket.destroy();
    },
    frameworkErrors(error, request, reply) {
      const known = FRAMEWORK[error.code];
      const url = String(request.raw.url ?? "").slice(0, 200);
      const err = known
        ? new ChorusError(known.code, known.message(url), { field: known.field })
        : new ChorusError("CHORUS_ERR_REQUEST_MALFORMED", error.message, { field: "(request)" });
      const { status, body, contentType } = surfaces.forUrl(url).render(err, url);
      void reply
        .status(status)
        .type(contentType ?? "application/json; charset=utf-8")
        .send(body);
    },
  };
}
