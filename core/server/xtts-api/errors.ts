/**
 * Errors in FastAPI's shapes, as xtts-api-server's clients read them:
 * - `{"detail": "<message>"}` for every refusal (HTTPException), with the catalogue's status;
 *   the catalogue code and field travel along as extra keys (clients ignore them). Routes
 *   throw ChorusErrors worded as xtts-api-server words its refusals, naming the field;
 * - 422 `{"detail": [{type, loc, msg, input}]}` for a body or query that fails validation.
 */
import type { FastifyError } from "fastify";
import type { ChorusError } from "../../errors.ts";
import { toChorusError } from "../errors.ts";
import type { Rendering, Surface } from "../surface.ts";

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

const JSON_TYPE = "application/json";

/** Renders any error a route (or an access hook) throws; bugs are logged and answered 500 without their text. */
export function renderDetail(error: unknown): Rendering {
  const json = (status: number, body: unknown): Rendering => ({ status, body, contentType: JSON_TYPE });
  if (error instanceof ValidationFailed) return json(422, { detail: error.issues });
  const fe = error as FastifyError;
  if (fe?.code === "FST_ERR_CTP_EMPTY_JSON_BODY") return json(422, { detail: [{ type: "missing", loc: ["body"], msg: "Field required", input: null }] });
  // fastify's body parsing (bad JSON): FastAPI answers these 422 json_invalid.
  if (fe?.code === "FST_ERR_CTP_INVALID_JSON_BODY" || fe instanceof SyntaxError) {
    return json(422, { detail: [{ type: "json_invalid", loc: ["body"], msg: "JSON decode error", input: {}, ctx: { error: fe.message } }] });
  }
  const err = toChorusError(error);
  return { ...json(err.statusCode, detailBody(err)), retryAfter: err.retryAfter, cause: err };
}

export function detailBody(err: ChorusError): Record<string, unknown> {
  return { detail: err.message, code: err.code, ...(err.field ? { field: err.field } : {}) };
}

/**
 * The xtts-api-server surface: FastAPI's shapes; on its own listener, unknown paths are
 * 404 `{"detail":"Not Found"}` as FastAPI answers them.
 */
export const xttsSurface: Surface = {
  name: "xtts-api",
  render: (error) => renderDetail(error),
  notFound: () => ({ status: 404, body: { detail: "Not Found" }, contentType: JSON_TYPE }),
};
