/** Errors in OpenAI's shape: `{"error":{"message","type","param","code"}}`. */
import type { FastifyError, FastifyReply } from "fastify";
import { ZodError } from "zod";
import { ChorusError } from "../../errors.ts";
import { AbortError } from "../../sdk/errors.ts";
import { EncoderError } from "../../audio/encoders/index.ts";

/** Chorus field names -> the OpenAI request parameter they came from. */
const PARAM: Record<string, string> = { text: "input", engine: "model" };

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openAIError(status: number, message: string, param: string | null, code: string | null): OpenAIErrorBody {
  const type = status === 401 ? "authentication_error" : status >= 500 ? "server_error" : status === 404 ? "not_found_error" : "invalid_request_error";
  return { error: { message, type, param, code } };
}

/** Status and OpenAI body for any error a speech route can throw. */
export function toOpenAIError(error: unknown): { status: number; body: OpenAIErrorBody; retryAfter?: number } {
  if (error instanceof ChorusError) {
    const param = error.field === undefined ? null : (PARAM[error.field] ?? error.field);
    const code = error.code.replace(/^CHORUS_ERR_/, "").toLowerCase();
    return { status: error.statusCode, body: openAIError(error.statusCode, error.message, param, code), retryAfter: error.retryAfter };
  }
  if (error instanceof ZodError) {
    const issue = error.issues[0]!;
    const param = issue.path.map(String).join(".") || null;
    return { status: 400, body: openAIError(400, `${param ?? "body"}: ${issue.message}`, param, "invalid_value") };
  }
  if (error instanceof AbortError) return { status: 499, body: openAIError(499, error.message, null, "cancelled") };
  if (error instanceof EncoderError) return { status: 500, body: openAIError(500, error.message, "response_format", "encoder_failed") };
  const fe = error as FastifyError;
  if (typeof fe.statusCode === "number" && fe.statusCode < 500) {
    const malformed = fe.code === "FST_ERR_CTP_INVALID_JSON_BODY" || fe.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || error instanceof SyntaxError;
    return { status: fe.statusCode, body: openAIError(fe.statusCode, fe.message, null, malformed ? "invalid_json" : (fe.code ?? null)) };
  }
  return { status: 500, body: openAIError(500, "internal error; see the server log", null, "internal_error") };
}

export function sendOpenAIError(reply: FastifyReply, error: unknown): FastifyReply {
  const { status, body, retryAfter } = toOpenAIError(error);
  if (retryAfter !== undefined) void reply.header("Retry-After", String(Math.ceil(retryAfter)));
  if (status >= 500) reply.log.warn({ err: error }, "openai request failed");
  return reply.status(status).send(body);
}
