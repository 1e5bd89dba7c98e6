/** The error calls fail with when an engine passed its memory limit (see memory-limit.ts). */
import { OutOfMemoryError } from "../../packages/sdk/src/index.ts";

const MEMORY = Symbol.for("chorus.memoryLimit");

export function memoryExceeded(engineId: string, detail: string, limit: { limitMb: number; declaredMb: number }): OutOfMemoryError {
  const declared = limit.declaredMb > 0 ? `declares ${limit.declaredMb} MB` : "declares no RAM (default ceiling)";
  const err = new OutOfMemoryError(`engine '${engineId}' exceeded its memory limit: ${detail} (it ${declared}; limit ${limit.limitMb} MB); the engine was restarted`, { neededMb: limit.limitMb * 2 });
  (err as unknown as Record<symbol, boolean>)[MEMORY] = true;
  return err;
}

export function isMemoryExceeded(err: unknown): err is OutOfMemoryError {
  return err instanceof OutOfMemoryError && (err as unknown as Record<symbol, boolean>)[MEMORY] === true;
}
