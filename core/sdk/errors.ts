/**
 * Errors an engine throws to tell the host something it can act on. They cross the worker
 * boundary by `code`, so the host sees the same class on its side (see `toEngineError`).
 */

export type EngineErrorCode =
  | "ENGINE_OUT_OF_MEMORY"
  | "ENGINE_VOICE_NOT_FOUND"
  | "ENGINE_BAD_OPTION"
  | "ENGINE_ABORTED"
  | "ENGINE_FAILED";

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EngineError";
    this.code = code;
  }
}

/**
 * Throw this from `load` or `synthesize` when the device ran out of memory (e.g. CUDA OOM).
 * `neededMb`, when known, is what the engine now believes it needs; the scheduler records it
 * and re-places the engine down its fallback chain.
 */
export class OutOfMemoryError extends EngineError {
  readonly neededMb: number | undefined;
  constructor(message: string, options?: { neededMb?: number; cause?: unknown }) {
    super("ENGINE_OUT_OF_MEMORY", message, options);
    this.name = "OutOfMemoryError";
    this.neededMb = options?.neededMb;
  }
}

export class VoiceNotFoundError extends EngineError {
  constructor(voice: string) {
    super("ENGINE_VOICE_NOT_FOUND", `unknown voice '${voice}'`);
    this.name = "VoiceNotFoundError";
  }
}

export class AbortError extends EngineError {
  constructor(message = "synthesis aborted") {
    super("ENGINE_ABORTED", message);
    this.name = "AbortError";
  }
}

/** Plain data form of an error, as it crosses a worker or process boundary. */
export interface SerializedError {
  code: EngineErrorCode;
  message: string;
  neededMb?: number;
  stack?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof OutOfMemoryError) {
    return { code: err.code, message: err.message, neededMb: err.neededMb, stack: err.stack };
  }
  if (err instanceof EngineError) return { code: err.code, message: err.message, stack: err.stack };
  if (err instanceof Error) {
    const aborted = err.name === "AbortError";
    return { code: aborted ? "ENGINE_ABORTED" : "ENGINE_FAILED", message: err.message, stack: err.stack };
  }
  return { code: "ENGINE_FAILED", message: String(err) };
}

export function deserializeError(data: SerializedError): EngineError {
  switch (data.code) {
    case "ENGINE_OUT_OF_MEMORY":
      return new OutOfMemoryError(data.message, { neededMb: data.neededMb });
    case "ENGINE_ABORTED":
      return new AbortError(data.message);
    default:
      return new EngineError(data.code, data.message);
  }
}

/** Throws `AbortError` when the signal has aborted; call between units of work. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new AbortError();
}
