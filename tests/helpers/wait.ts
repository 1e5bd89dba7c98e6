/**
 * Waiting in tests: on a condition, never for a fixed time. The ceiling only turns a condition
 * that never comes into a failure with a message instead of a hang; it is far above what the
 * condition takes on a loaded machine and is never a speed claim (benchmarks check speed).
 */
export const CEILING_MS = 30_000;

/** Polls `check` (every 10 ms) until it returns a truthy value; returns the value. */
export async function until<T>(check: () => T | Promise<T>, what: string, ceilingMs = CEILING_MS): Promise<NonNullable<T>> {
  const deadline = Date.now() + ceilingMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`waited ${ceilingMs} ms for ${what}, in vain`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
