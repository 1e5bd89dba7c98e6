/** Errors in OpenAI's shape: `{"error":{"message","type","param","code"}}`. */
import { toChorusError } from "../errors.ts";
import { routeNotFound, type Rendering, type Surface } from "../surface.ts";

/**
 * Chorus field names in errors raised after validation (the scheduler's `engine`) -> the
 * OpenAI request parameter they came from; validation errors name OpenAI's already.
 */
const PARAM: Record<string, string> = { text: "input", engine: "model" };

/** Catalogue codes OpenAI has its own words for (its SDK reads `code`). */
const OWN_CODE: Record<string, { code: string; param: null }> = { CHORUS_ERR_UNAUTHORIZED: { code: "invalid_api_key", param: null } };

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

/** Status and OpenAI body for any error a route or the access hooks can raise. */
export function renderOpenAIError(error: unknown): Rendering {
  if (error instanceof OpenAIRequestError) return { status: 400, body: openAIError(400, error.message, error.param, error.openaiCode) };
  const err = toChorusError(error);
  const own = OWN_CODE[err.code];
  // "(body)", "(request)", "(headers)", "(url)": the request as a whole, which OpenAI says with null
  const param = own ? own.param : err.field === undefined || err.field.startsWith("(") ? null : (PARAM[err.field] ?? err.field);
  // An unknown model is OpenAI's model_not_found on every route (GET /v1/models/ID answers it too).
  const unknownModel = err.code === "CHORUS_ERR_ENGINE_NOT_FOUND" && param === "model";
  const code = own?.code ?? (unknownModel ? "model_not_found" : err.code.replace(/^CHORUS_ERR_/, "").toLowerCase());
  return { status: err.statusCode, body: openAIError(err.statusCode, err.message, param, code), retryAfter: err.retryAfter, cause: err };
}

/** The OpenAI surface: every error under /v1, 404s and access refusals included, in OpenAI's shape. */
export const openaiSurface: Surface = {
  name: "openai",
  render: (error) => renderOpenAIError(error),
  notFound: (method, url) => renderOpenAIError(routeNotFound(method, url)),
};
