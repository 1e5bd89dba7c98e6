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

/** Milliseconds until an idle engine unloads; undefined = never. */
export function expiryDelayMs(seconds: number, pinned: boolean): number | undefined {
  if (pinned || seconds < 0) return undefined;
  return seconds * 1000;
}
