/**
 * Resuming a synthesis after its engine's worker died mid-request (crash, kill -9, restart
 * failure). Once audio has been sent, the status cannot change, so the pipeline does not fail
 * the request: the sentences not yet delivered are synthesised again, first on the same
 * instance (its host restarts the worker and reloads the engine), then on a fresh placement
 * down the chain (another profile or a fallback engine). Only when nothing can serve does the
 * stream fail, visibly (see the routes: an SSE error event, or an aborted connection).
 */
import type { AudioChunk } from "../../packages/sdk/src/index.ts";

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
