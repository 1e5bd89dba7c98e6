/**
 * Re-placement after an engine runs out of memory mid-request: the scheduler is told, the
 * request is placed again down the chain (avoiding every profile that ran out of memory for
 * it) and the sentence retried, at most MAX_OOM_RETRIES times per request.
 */
import { OutOfMemoryError } from "../../packages/sdk/src/index.ts";
import type { Lease } from "../scheduler/lease.ts";
import { isMemoryExceeded } from "../registry/memory-error.ts";
import { fromEngineError } from "./chunks.ts";
import { fittedToNewEngine, type Replacing, type Serving, type SynthParams } from "./serving.ts";

/** Re-placements after out-of-memory errors in one request (each avoids the profiles that failed). */
export const MAX_OOM_RETRIES = 3;

/** Whether the request may be re-placed after this error (an out-of-memory, retries left, a lease that can report it). */
export function canReplace(err: unknown, lease: Lease, ooms: readonly string[]): err is OutOfMemoryError {
  return err instanceof OutOfMemoryError && ooms.length < MAX_OOM_RETRIES && lease.reportOutOfMemory !== undefined;
}

/**
 * Reports the out-of-memory, gives the lease back and takes the next placement into
 * `serving` (`ooms`: the profiles that failed so far, grown by this one). Returns the
 * parameters for the engine that now serves: on another engine, its voice, the options it
 * takes and speed and pitch as it can take them (never a value it did not declare).
 */
export async function replaceAfterOom(serving: Serving, err: OutOfMemoryError, ooms: string[], params: SynthParams, ctx: Replacing): Promise<SynthParams> {
  const lease = serving.lease;
  ooms.push(lease.reportOutOfMemory!(err.neededMb, isMemoryExceeded(err) ? "ram" : "vram"));
  lease.release();
  const next = await ctx.leases
    .acquire({ engineId: lease.requestedEngineId ?? lease.engineId, signal: ctx.signal, fallback: ctx.fallback, avoid: [...ooms] })
    .catch((placement: unknown) => {
      serving.lease = { ...lease, release: () => {} }; // already given back
      // nothing else can serve: the client hears about the memory limit, not the placement
      throw isMemoryExceeded(err) && !ctx.signal.aborted ? fromEngineError(err, lease.engineId, params.voice) : placement;
    });
  serving.lease = next;
  if (next.engineId === lease.engineId) return params;
  serving.voice = await ctx.voices.resolve(next, undefined, true);
  return fittedToNewEngine(serving, params, ctx);
}
