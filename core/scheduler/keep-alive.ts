/** Keep-alive: how long an idle engine stays loaded. Seconds; 0 = unload when idle, -1 = never. */

export interface KeepAliveSources {
  /** The last request's override. */
  request?: number;
  /** Runtime override (API / CLI) or `scheduler.engines.<id>.keepAliveSeconds`. */
  engine?: number;
  global: number;
}

export function resolveKeepAlive(s: KeepAliveSources): number {
  return s.request ?? s.engine ?? s.global;
}

/** Longest delay a Node timer takes (about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds until an idle engine unloads; undefined = never (as is anything past 24 days). */
export function expiryDelayMs(seconds: number, pinned: boolean): number | undefined {
  if (pinned || seconds < 0 || !(seconds * 1000 <= MAX_TIMER_MS)) return undefined;
  return seconds * 1000;
}
