/** Maps every error to the catalogue's JSON shape: `{"error":{"code","message","field"?}}`. */
import type { FastifyError, FastifyInstance } from "fastify";
import { ZodError } from "zod";
import { ChorusError } from "../errors.ts";
import { AbortError } from "../sdk/errors.ts";

/** A zod failure on a request body/query as a 400 naming the first bad field. */
export function fromZod(error: ZodError, prefix = ""): ChorusError {
  const issue = error.issues[0]!;
  const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]!] : issue.path;
  const field = [prefix, ...path.map(String)].filter(Boolean).join(".") || "(body)";
  const message = issue.code === "unrecognized_keys" ? "unknown field" : issue.message;
  return new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${field}: ${message}`, { field });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    const err = new ChorusError("CHORUS_ERR_ROUTE_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}`);
    void reply.status(err.statusCode).send(err.toJSON());
  });

  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    let err: ChorusError;
    if (error instanceof ChorusError) err = error;
    else if (error instanceof ZodError) err = fromZod(error);
    else if (error instanceof AbortError) {
      request.log.info("client went away; synthesis aborted");
      return reply.status(499).send({ error: { code: "CHORUS_ERR_REQUEST_CANCELLED", message: error.message } });
    } else if ("statusCode" in error && typeof error.statusCode === "number" && error.statusCode < 500) {
      // fastify's own client errors: bad JSON, wrong content type, body too large
      const malformed = error.code === "FST_ERR_CTP_INVALID_JSON_BODY" || error instanceof SyntaxError || error.code === "FST_ERR_CTP_EMPTY_JSON_BODY";
      const status = error.statusCode;
      return reply.status(status).send({
        error: { code: malformed ? "CHORUS_ERR_REQUEST_MALFORMED" : `CHORUS_ERR_HTTP_${status}`, message: error.message, field: malformed ? "(body)" : undefined },
      });
    } else {
      request.log.error({ err: error }, "unhandled error");
      err = new ChorusError("CHORUS_ERR_INTERNAL", "internal error; see the server log");
    }
    if (err.retryAfter !== undefined) void reply.header("Retry-After", String(Math.ceil(err.retryAfter)));
    if (err.statusCode >= 500) request.log.warn({ code: err.code, reason: err.message }, "request failed");
    return reply.status(err.statusCode).send(err.toJSON());
  });
}
