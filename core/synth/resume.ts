/**
 * Resuming a synthesis after its engine's worker died mid-request (crash, kill -9, restart
 * failure). Once audio has been sent, the status cannot change, so the pipeline does not fail
 * the request: the sentences not yet delivered are synthesised again, first on the same
 * instance (its host restarts the worker and reloads the engine), then on a fresh placement
 * down the chain (another profile or a fallback engine). Only when nothing can serve does the
 * stream fail, visibly (see the routes: an SSE error event, or an aborted connection).
 */
import type { AudioChunk } from "../../packages/sdk/src/index.ts";
import { ChorusError } from "../errors.ts";
import { lossCause } from "../registry/pending-calls.ts";
import type { Lease } from "../scheduler/lease.ts";
import type { Replacing, Serving } from "./serving.ts";

/** Worker losses one request may ride out before it fails. */
export const MAX_RESUMES = 3;

/**
 * Drops the first `seconds` of audio from a re-synthesised sentence (the part the client has
 * already been given): engines are deterministic for the same text, voice and settings, so
 * the rest continues where the lost worker stopped.
 */
export class Skipper {
  constructor(private seconds: number) {}

  apply(chunk: AudioChunk): AudioChunk | undefined {
    if (this.seconds <= 0) return chunk;
    const n = Math.min(chunk.samples.length, Math.round(this.seconds * chunk.sampleRate));
    this.seconds -= n / chunk.sampleRate;
    if (n >= chunk.samples.length) return undefined;
    return { ...chunk, samples: chunk.samples.subarray(n) };
  }
}

/** Where in the request the worker was lost, and which loss of the request this is (1 = the first). */
export interface LossPoint {
  index: number;
  total: number;
  delivered: number;
  attempt: number;
}

/**
 * After a worker loss: the first time the same instance carries on (its host restarts the
 * worker); later, a new placement that avoids the lost profile, taken into `serving`. Logs a
 * `fallback` decision. Returns whether the voice (and so the audio already sent) is the same.
 */
export async function resumeAfterLoss(serving: Serving, err: Error, at: LossPoint, params: { voice: string }, ctx: Replacing): Promise<boolean> {
  const lease = serving.lease;
  const key = `${lease.engineId}:${lease.profile.name}`;
  const where = `sentence ${at.index + 1} of ${at.total}, ${at.delivered.toFixed(2)} s of it delivered`;
  const cause = lossCause(err);
  if (at.attempt === 1) {
    ctx.scheduler.noteResume?.(lease.engineId, lease.profile.name, `${err.message}; resuming ${where} on the restarted instance`, undefined, cause);
    return true;
  }
  lease.release();
  let next: Lease;
  try {
    next = await ctx.leases.acquire({ engineId: lease.requestedEngineId ?? lease.engineId, signal: ctx.signal, fallback: ctx.fallback, avoid: [key] });
  } catch (placement) {
    if (ctx.signal.aborted) throw placement;
    serving.lease = { ...lease, release: () => {} }; // already given back
    throw new ChorusError(
      "CHORUS_ERR_ENGINE_FAILED",
      `engine '${lease.engineId}' lost its worker at ${where} (${err.message}) and nothing else can serve: ${(placement as Error).message}`,
      { cause: err },
    );
  }
  serving.lease = next;
  const same = next.engineId === lease.engineId;
  if (!same) serving.voice = await ctx.voices.resolve(next, params.voice, true);
  ctx.scheduler.noteResume?.(
    next.engineId,
    next.profile.name,
    `${key}: ${err.message}; resuming ${where} on ${next.engineId}:${next.profile.name}${same ? "" : ` (voice ${serving.voice})`}`,
    lease.engineId,
    cause,
  );
  return same && serving.voice === params.voice;
}
