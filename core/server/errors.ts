/**
 * Maps every error a route or hook can raise to a catalogue error (core/errors.ts). Renders
 * nothing: each API surface renders the catalogue error in its own shape (surface.ts).
 */
import type { FastifyBaseLogger, FastifyError, FastifyRequest } from "fastify";
import { ZodError } from "zod";
import { ChorusError } from "../errors.ts";
import { SynthesisAbortedError } from "../../packages/sdk/src/index.ts";
import { EncoderError } from "../audio/encoders/index.ts";

/** A zod failure on a request body/query as a 400 naming the first bad field. */
export function fromZod(error: ZodError, prefix = ""): ChorusError {
  const issue = error.issues[0]!;
  const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]!] : issue.path;
  const field = [prefix, ...path.map(String)].filter(Boolean).join(".") || "(body)";
  const message = issue.code === "unrecognized_keys" ? "unknown field" : issue.message;
  return new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${field}: ${message}`, { field });
}

/** Logs a failed request at the level it deserves: bugs as errors, refusals as warnings. */
export function logError(log: FastifyBaseLogger, err: ChorusError, original: unknown): void {
  if (err.code === "CHORUS_ERR_INTERNAL") log.error({ err: original }, "unhandled error");
  else if (err.code === "CHORUS_ERR_REQUEST_CANCELLED") log.info({ reason: err.message }, "synthesis cancelled");
  else if (err.statusCode >= 500) log.warn({ code: err.code, reason: err.message }, "request failed");
}

/**
 * A streamed response body (every surface's: native, OpenAI audio and SSE, AllTalk, xtts-api)
 * that logs the error it ends with, as `logError` does for a
 * refused request: its status went out with the first bytes, so only the log can say why
 * the audio broke off.
 */
export async function* loggingFailure<T>(body: AsyncIterable<T>, log: FastifyBaseLogger): AsyncGenerator<T> {
  try {
    yield* body;
  } catch (error) {
    logError(log, toChorusError(error), error);
    throw error;
  }
}

/** fastify's own client errors (bad JSON, content type, body size) in the catalogue's terms. */
function fromFastify(error: FastifyError): ChorusError {
  switch (error.statusCode) {
    case 415:
      return new ChorusError("CHORUS_ERR_REQUEST_MEDIA_TYPE", error.message, { field: "(body)" });
    case 413:
      return new ChorusError("CHORUS_ERR_REQUEST_TOO_LARGE", error.message, { field: "(body)" });
    default:
      return new ChorusError("CHORUS_ERR_REQUEST_MALFORMED", error.message, { field: "(body)" });
  }
}

/**
 * fastify's body refusals said with what the client sent and what would do (fastify's own
 * messages are "Unsupported Media Type" and "Request body is too large"); `accepts` is what
 * the surface's routes read. Other errors are returned as they are.
 */
export function withRequestDetails(error: unknown, request: FastifyRequest, accepts: string): unknown {
  const code = (error as FastifyError | undefined)?.code;
  if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    const type = request.headers["content-type"];
    const sent = type ? `Content-Type '${type.slice(0, 100)}' is` : "a body without a Content-Type is";
    return new ChorusError("CHORUS_ERR_REQUEST_MEDIA_TYPE", `${sent} not accepted here; send ${accepts}`, { field: "(body)", cause: error });
  }
  if (code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    const limit = request.routeOptions.bodyLimit;
    return new ChorusError("CHORUS_ERR_REQUEST_TOO_LARGE", `the body is larger than server.bodyLimit (${limit} bytes)`, { field: "(body)", cause: error });
  }
  return error;
}

/**
 * Any error a route can throw, as a catalogue error: the one mapping every API surface
 * (native, OpenAI, AllTalk) shares before rendering it in its own shape.
 */
export function toChorusError(error: unknown): ChorusError {
  if (error instanceof ChorusError) return error;
  if (error instanceof ZodError) return fromZod(error);
  if (error instanceof EncoderError) return new ChorusError("CHORUS_ERR_ENCODER_FAILED", error.message, { field: "response_format", cause: error });
  if (error instanceof SynthesisAbortedError || (error instanceof Error && error.name === "AbortError")) {
    return new ChorusError("CHORUS_ERR_REQUEST_CANCELLED", (error as Error).message);
  }
  const fe = error as FastifyError;
  if (typeof fe?.statusCode === "number" && fe.statusCode < 500) return fromFastify(fe);
  return new ChorusError("CHORUS_ERR_INTERNAL", "internal error; see the server log", { cause: error });
}
