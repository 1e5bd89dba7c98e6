/**
 * Time as the scheduler sees it. Production uses the system clock; unit tests and the
 * simulator use a manual clock (tests/helpers/clock.ts) whose timers fire only when it is
 * advanced.
 */

export interface Clock {
  /** Milliseconds. */
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  timer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  timer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return () => clearTimeout(t);
  },
};

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.timer(ms, resolve));
}
