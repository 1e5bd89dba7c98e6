/**
 * The errors a refused lease request gets: each names why (a reason code of decisions.ts)
 * and when to try again (`retryAfter`, seconds).
 */
import { ChorusError } from "../errors.ts";
import type { Candidate } from "./chain.ts";
import type { Placement } from "./placement.ts";

/** Seconds a refused client should wait: about one load of the chain's head. */
export function retryAfterSeconds(chain: Candidate[]): number {
  return Math.max(1, Math.ceil(chain[0]?.profile.loadSeconds ?? 1));
}

/** Placement found no way to serve the request (no fit, no GPU, a profile cooling down). */
export function refusalError(p: Extract<Placement, { kind: "refuse" }>, engineId: string): ChorusError {
  const retryAfter = Math.max(1, Math.ceil((p.retryAfterMs ?? 30_000) / 1000));
  if (p.reason === "cooldown")
    return new ChorusError("CHORUS_ERR_ENGINE_UNAVAILABLE", `engine '${engineId}' cannot be loaded: ${p.message}`, { field: "engine", retryAfter });
  return new ChorusError("CHORUS_ERR_SCHEDULER_BUSY", `no placement for '${engineId}': ${p.message}`, { retryAfter, details: { reason: p.reason } });
}

export function queueFullError(queueSize: number, chain: Candidate[]): ChorusError {
  return new ChorusError("CHORUS_ERR_SCHEDULER_BUSY", `scheduler queue is full (${queueSize} waiting)`, { retryAfter: retryAfterSeconds(chain) });
}

/** A request waited `seconds` in the queue without a placement (`lastReason`: what it waited for). */
export function deadlineError(engineId: string, seconds: number, lastReason: string | undefined, chain: Candidate[]): ChorusError {
  return new ChorusError("CHORUS_ERR_SCHEDULER_BUSY", `no placement for '${engineId}' within ${seconds} s (${lastReason ?? "queued"})`, {
    retryAfter: retryAfterSeconds(chain),
  });
}

export function shuttingDownError(): ChorusError {
  return new ChorusError("CHORUS_ERR_SCHEDULER_BUSY", "the server is shutting down", { retryAfter: 5 });
}
