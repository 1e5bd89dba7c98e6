/**
 * The error catalogue. Every error the host reports has a stable code
 * (`CHORUS_ERR_<AREA>_<PROBLEM>`), an HTTP status and a message; request errors name the
 * offending field. docs/errors.md lists them; tests/errors.test.ts keeps the two in step.
 */

export const ERRORS = {
  CHORUS_ERR_REQUEST_INVALID: { status: 400, summary: "a request field is missing, of the wrong type or out of range" },
  CHORUS_ERR_REQUEST_MALFORMED: { status: 400, summary: "the body is not valid JSON (or not the declared content type)" },
  CHORUS_ERR_REQUEST_MEDIA_TYPE: { status: 415, summary: "the body's content type is not one the route accepts (JSON, or a form for AllTalk routes)" },
  CHORUS_ERR_REQUEST_TOO_LARGE: { status: 413, summary: "the body is larger than `server.bodyLimit`" },
  CHORUS_ERR_REQUEST_HEADERS_TOO_LARGE: {
    status: 431,
    summary:
      "the request line and headers are larger than the server accepts (16 KB plus 12 bytes per character of `text.maxLength`, so that a streaming URL holds a whole text)",
  },
  CHORUS_ERR_REQUEST_URI_TOO_LONG: { status: 414, summary: "a path segment of the URL is longer than 256 characters" },
  CHORUS_ERR_REQUEST_TIMEOUT: { status: 408, summary: "the request was not received completely in time" },
  CHORUS_ERR_REQUEST_CANCELLED: {
    status: 499,
    summary: "the synthesis was stopped: the client went away (logged only) or PUT /api/stop-generation cancelled it",
  },
  CHORUS_ERR_TEXT_EMPTY: { status: 400, summary: "the text has nothing to speak after normalisation" },
  CHORUS_ERR_TEXT_TOO_LONG: { status: 413, summary: "the text is longer than `text.maxLength`" },
  CHORUS_ERR_ENGINE_NOT_FOUND: { status: 404, summary: "no engine with that id is installed" },
  CHORUS_ERR_ENGINE_UNAVAILABLE: { status: 503, summary: "the engine is installed but failed to load (see GET /api/engines)" },
  CHORUS_ERR_VOICE_NOT_FOUND: { status: 404, summary: "the engine has no voice with that id" },
  CHORUS_ERR_ENGINE_FAILED: { status: 502, summary: "the engine failed while synthesising; the message is the engine's" },
  CHORUS_ERR_ENGINE_MEMORY: {
    status: 503,
    summary:
      "the engine exceeded its declared RAM plus `engines.memory.marginMb` (or the default ceiling), or grew the server past 90 % of `engines.memory.serverCeilingMb`, and was restarted",
  },
  CHORUS_ERR_SCHEDULER_BUSY: { status: 503, summary: "no placement could be granted in time; retry after Retry-After" },
  CHORUS_ERR_CONNECTION_LIMIT: { status: 503, summary: "the Wyoming server has `wyoming.maxConnections` connections open; the new one is closed" },
  CHORUS_ERR_ROUTE_NOT_FOUND: { status: 404, summary: "no such route" },
  CHORUS_ERR_UNAUTHORIZED: { status: 401, summary: "missing or wrong API key" },
  CHORUS_ERR_ORIGIN_FORBIDDEN: { status: 403, summary: "a browser preflight, or a request other than GET/HEAD, from an origin not in `compat.cors.origins`" },
  CHORUS_ERR_HOST_FORBIDDEN: {
    status: 403,
    summary: "the request's Host header names neither this machine's loopback nor an IP address nor a name in `server.allowedHosts` (DNS-rebinding protection)",
  },
  CHORUS_ERR_FILE_NOT_FOUND: {
    status: 404,
    summary: "no file of that name (AllTalk /audio/: a generated file, it may have expired; xtts-api /sample/: a speaker clip)",
  },
  CHORUS_ERR_ENCODER_FAILED: { status: 500, summary: "the audio encoder (the bundled ffmpeg) failed; the message is ffmpeg's" },
  CHORUS_ERR_DATASET_FORBIDDEN: { status: 403, summary: "the dataset (or model) path is outside the folders in `finetune.datasetDirs`" },
  CHORUS_ERR_DATASET_NOT_FOUND: { status: 404, summary: "no dataset folder at that path" },
  CHORUS_ERR_TRAINING_LEASE_REFUSED: { status: 409, summary: "a fine-tune job cannot have the GPU memory its plan needs; the message says who holds what" },
  CHORUS_ERR_FINETUNE_JOB_NOT_FOUND: { status: 404, summary: "no fine-tune job with that id (GET /api/finetune/jobs lists them)" },
  CHORUS_ERR_FINETUNE_JOB_CONFLICT: {
    status: 409,
    summary: "the fine-tune job is in a state that does not allow this (already running, or finished and not resumable)",
  },
  CHORUS_ERR_INTERNAL: { status: 500, summary: "a bug in Chorus; the log has the details" },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class ChorusError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** The request field at fault, e.g. `text` or `options.speed`. */
  readonly field: string | undefined;
  /** Seconds a client should wait before retrying (503s). */
  readonly retryAfter: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, extra: { field?: string; retryAfter?: number; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: extra.cause });
    this.name = "ChorusError";
    this.code = code;
    this.statusCode = ERRORS[code].status;
    this.field = extra.field;
    this.retryAfter = extra.retryAfter;
    this.details = extra.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field !== undefined ? { field: this.field } : {}),
        ...(this.details ?? {}),
      },
    };
  }
}
