/** Errors as they cross the engine protocol (docs/protocol.md, "Errors"): by `name`. */
import { BadOptionError, EngineError, OutOfMemoryError, SynthesisAbortedError, VoiceNotFoundError } from "../../packages/sdk/src/index.ts";
import type { WireError } from "./protocol.ts";

/** Any thrown value as its wire form. Matching is by `name`, not class (the plugin may bundle its own SDK copy). */
export function toWireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: "EngineError", message: String(err) };
  const e = err as Error & { code?: unknown; neededMb?: unknown; option?: unknown; voice?: unknown };
  const base = { message: e.message, stack: e.stack, ...(typeof e.code === "string" ? { code: e.code } : {}) };
  if (e.name === "OutOfMemoryError" || e.code === "ENGINE_OUT_OF_MEMORY") {
    return { ...base, name: "OutOfMemoryError", ...(typeof e.neededMb === "number" ? { neededMb: e.neededMb } : {}) };
  }
  if (e.name === "BadOptionError" || e.code === "ENGINE_BAD_OPTION") {
    const option = typeof e.option === "string" ? e.option : /^options\.([A-Za-z0-9_]+)/.exec(e.message)?.[1];
    return { ...base, name: "BadOptionError", ...(option ? { option } : {}) };
  }
  if (e.name === "VoiceNotFoundError" || e.code === "ENGINE_VOICE_NOT_FOUND") {
    return { ...base, name: "VoiceNotFoundError", ...(typeof e.voice === "string" ? { voice: e.voice } : {}) };
  }
  if (e.name === "AbortError" || e.code === "ENGINE_ABORTED") return { ...base, name: "AbortError" };
  return { ...base, name: "EngineError" };
}

/** The SDK error class a wire error stands for. */
export function fromWireError(w: WireError): EngineError {
  const message = typeof w?.message === "string" ? w.message : "engine error";
  let err: EngineError;
  switch (w?.name) {
    case "OutOfMemoryError":
      err = new OutOfMemoryError(message, { neededMb: typeof w.neededMb === "number" && w.neededMb > 0 ? w.neededMb : undefined });
      break;
    case "BadOptionError": {
      const option = typeof w.option === "string" && w.option ? w.option : "";
      err = option ? new BadOptionError(option, message.replace(`options.${option}: `, "")) : new EngineError("ENGINE_BAD_OPTION", message);
      break;
    }
    case "VoiceNotFoundError":
      err = new VoiceNotFoundError(typeof w.voice === "string" ? w.voice : "?");
      if (!w.voice) Object.defineProperty(err, "message", { value: message });
      break;
    case "AbortError":
      err = new SynthesisAbortedError(message);
      break;
    default:
      err = new EngineError("ENGINE_FAILED", message);
  }
  if (typeof w?.stack === "string") err.stack = `${err.name}: ${message}\n    (in the engine) ${w.stack}`;
  return err;
}
