/**
 * Errors an engine throws to tell the host something it can act on. They cross the thread or
 * process boundary by `name` (docs/protocol.md), so the host sees the same class on its side.
 */

export type EngineErrorCode = "ENGINE_OUT_OF_MEMORY" | "ENGINE_VOICE_NOT_FOUND" | "ENGINE_BAD_OPTION" | "ENGINE_ABORTED" | "ENGINE_FAILED";

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
 * `neededMb`, when known, is the allocation that failed (or what the engine now believes it
 * needs); the scheduler records it and re-places the engine down its fallback chain.
 */
export class OutOfMemoryError extends EngineError {
  readonly neededMb: number | undefined;
  constructor(message: string, options?: { neededMb?: number; cause?: unknown }) {
    super("ENGINE_OUT_OF_MEMORY", message, options);
    this.name = "OutOfMemoryError";
    this.neededMb = options?.neededMb;
  }
}

/**
 * A request's engine option the engine cannot honour (beyond what the manifest's `options`
 * spec checks). The client gets a 400 naming `options.<option>`.
 */
export class BadOptionError extends EngineError {
  readonly option: string;
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super("ENGINE_BAD_OPTION", `options.${option}: ${message}`, options);
    this.name = "BadOptionError";
    this.option = option;
  }
}

export class VoiceNotFoundError extends EngineError {
  readonly voice: string;
  constructor(voice: string) {
    super("ENGINE_VOICE_NOT_FOUND", `unknown voice '${voice}'`);
    this.name = "VoiceNotFoundError";
    this.voice = voice;
  }
}

/**
 * The synthesis was cancelled (the client went away, or the host stopped it). Its `name` is
 * "AbortError", as for every cancellation in JavaScript (`signal.throwIfAborted()` throws a
 * DOMException of that name), so `err.name === "AbortError"` recognises both; the class has
 * its own name so that it does not shadow the DOM's.
 */
export class SynthesisAbortedError extends EngineError {
  constructor(message = "synthesis aborted") {
    super("ENGINE_ABORTED", message);
    this.name = "AbortError";
  }
}

/** Throws `SynthesisAbortedError` when the signal has aborted; call between units of work. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new SynthesisAbortedError();
}
