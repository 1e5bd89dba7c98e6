/** Errors in OpenAI's shape: `{"error":{"message","type","param","code"}}`. */
import type { FastifyReply } from "fastify";
import { toChorusError } from "../errors.ts";

/** Chorus field names -> the OpenAI request parameter they came from. */
const PARAM: Record<string, string> = { text: "input", engine: "model" };

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openAIError(status: number, message: string, param: string | null, code: string | null, type?: string): OpenAIErrorBody {
  type ??= status === 401 ? "authentication_error" : status >= 500 ? "server_error" : status === 404 ? "not_found_error" : "invalid_request_error";
  return { error: { message, type, param, code } };
}

/** A 400 exactly as OpenAI words it (its own code, e.g. string_above_max_length). */
export class OpenAIRequestError extends Error {
  constructor(
    message: string,
    readonly param: string,
    readonly openaiCode: string,
  ) {
    super(message);
    this.name = "OpenAIRequestError";
  }
}

/** Status and OpenAI body for any error a speech route can throw. */
export function toOpenAIError(error: unknown): { status: number; body: OpenAIErrorBody; retryAfter?: number } {
  if (error instanceof OpenAIRequestError) return { status: 400, body: openAIError(400, error.message, error.param, error.openaiCode) };
  const err = toChorusError(error);
  const param = err.field === undefined || err.field === "(body)" ? null : (PARAM[err.field] ?? err.field);
  const code = err.code.replace(/^CHORUS_ERR_/, "").toLowerCase();
  return { status: err.statusCode, body: openAIError(err.statusCode, err.message, param, code), retryAfter: err.retryAfter };
}

export function sendOpenAIError(reply: FastifyReply, error: unknown): FastifyReply {
  const { status, body, retryAfter } = toOpenAIError(error);
  if (retryAfter !== undefined) void reply.header("Retry-After", String(Math.ceil(retryAfter)));
  if (status >= 500) reply.log.warn({ err: error }, "openai request failed");
  return reply.status(status).type("application/json; charset=utf-8").send(body);
}
