/**
 * Errors in FastAPI's shapes, as xtts-api-server's clients read them:
 * - `{"detail": "<message>"}` for every refusal (HTTPException), with the catalogue's status;
 *   the catalogue code and field travel along as extra keys (clients ignore them);
 * - 422 `{"detail": [{type, loc, msg, input}]}` for a body or query that fails validation.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { ChorusError } from "../../errors.ts";
import { logError, toChorusError } from "../errors.ts";

/** One pydantic-style validation issue. */
export interface Issue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input?: unknown;
}

/** A request that fails validation: answered 422 with the issue list. */
export class ValidationFailed extends Error {
  constructor(readonly issues: Issue[]) {
    super(issues.map((i) => `${i.loc.join(".")}: ${i.msg}`).join("; "));
    this.name = "ValidationFailed";
  }
}

/** An HTTPException-like refusal: `{"detail": message}` with this status. */
export class Detail extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = "Detail";
  }
}

/** Renders any error a route throws; bugs are logged and answered 500 without their text. */
export function sendDetail(reply: FastifyReply, error: unknown): FastifyReply {
  void reply.type("application/json");
  if (error instanceof ValidationFailed) return reply.status(422).send({ detail: error.issues });
  if (error instanceof Detail) return reply.status(error.statusCode).send({ detail: error.message });
  const fe = error as FastifyError;
  if (fe?.code === "FST_ERR_CTP_EMPTY_JSON_BODY") return reply.status(422).send({ detail: [{ type: "missing", loc: ["body"], msg: "Field required", input: null }] });
  // fastify's body parsing (bad JSON): FastAPI answers these 422 json_invalid.
  if (fe?.code === "FST_ERR_CTP_INVALID_JSON_BODY" || fe instanceof SyntaxError) {
    return reply.status(422).send({ detail: [{ type: "json_invalid", loc: ["body"], msg: "JSON decode error", input: {}, ctx: { error: fe.message } }] });
  }
  const err = toChorusError(error);
  logError(reply.log, err, error);
  if (err.retryAfter !== undefined) void reply.header("Retry-After", String(Math.ceil(err.retryAfter)));
  return reply.status(err.statusCode).send(detailBody(err));
}

export function detailBody(err: ChorusError): Record<string, unknown> {
  return { detail: err.message, code: err.code, ...(err.field ? { field: err.field } : {}) };
}

/** The plugin's error handler (fastify's signature). */
export function xttsErrorHandler(error: unknown, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendDetail(reply, error);
}

/** 404 `{"detail":"Not Found"}`, FastAPI's answer for an unknown path (the second listener). */
export function notFound(_request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.status(404).type("application/json").send({ detail: "Not Found" });
}
