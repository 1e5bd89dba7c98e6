/** The error calls fail with when an engine passed its memory limit (see memory-limit.ts). */
import { OutOfMemoryError } from "../../packages/sdk/src/index.ts";

const MEMORY = Symbol.for("chorus.memoryLimit");

/**
 * `usedMb`: what the engine held when it was stopped; it becomes the error's `neededMb`, the
 * RAM the scheduler plans the engine with from then on (core/scheduler/ram-needs.ts).
 */
export function memoryExceeded(engineId: string, detail: string, limit: { limitMb: number; declaredMb: number }, usedMb: number): OutOfMemoryError {
  const declared = limit.declaredMb > 0 ? `declares ${limit.declaredMb} MB` : "declares no RAM (default ceiling)";
  const neededMb = Math.ceil(Math.max(usedMb, limit.declaredMb + 1));
  const err = new OutOfMemoryError(
    `engine '${engineId}' was stopped for memory: ${detail} (it ${declared}; its limit is ${limit.limitMb} MB); the engine was restarted`,
    { neededMb },
  );
  (err as unknown as Record<symbol, boolean>)[MEMORY] = true;
  return err;
}

export function isMemoryExceeded(err: unknown): err is OutOfMemoryError {
  return err instanceof OutOfMemoryError && (err as unknown as Record<symbol, boolean>)[MEMORY] === true;
}
