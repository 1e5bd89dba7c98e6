/** What the pipeline gets from the scheduler: the right to run requests on a loaded engine. */
import type { AudioChunk, SynthesisRequest, Voice } from "../../packages/sdk/src/index.ts";
import type { DeviceInfo, Manifest, PlacementProfile } from "../../packages/sdk/src/index.ts";

/** The calls a lease holder may make on the engine (an EngineHost in production). */
export interface LeasedEngine {
  listVoices(): Promise<Voice[]>;
  synthesize(request: SynthesisRequest, signal: AbortSignal): AsyncIterable<AudioChunk>;
  /**
   * `request.text`, then each of `more` with the same parameters, as one call to the engine
   * (no round trip between the texts: protocol 1.1; an engine host whose runtime speaks 1.0
   * makes one request per text itself).
   */
  synthesizeMore(request: SynthesisRequest, more: readonly string[], signal: AbortSignal): AsyncIterable<AudioChunk>;
}

export interface LeaseRequest {
  engineId: string;
  /** Cancels the wait (never a load other requests wait for). */
  signal?: AbortSignal;
  /** May the scheduler serve the request from a fallback engine/profile? Default true. */
  fallback?: boolean;
  /** Keep-alive override for this request, seconds (0 = unload when idle, -1 = never). */
  keepAliveSeconds?: number;
  /** `engine:profile` keys not to place on (the pipeline's retry after an out-of-memory). */
  avoid?: string[];
}

export interface Lease {
  /** The engine that serves the request (differs from the requested one after a fallback). */
  readonly engineId: string;
  readonly profile: PlacementProfile;
  readonly engine: LeasedEngine;
  /** The manifest of the engine that serves (the generation that was loaded), so a holder never asks the catalogue. */
  readonly manifest: Manifest;
  /** Where the instance runs: the DeviceInfo its engine's LoadContext got (built once, at load, loader.ts). */
  readonly device: DeviceInfo;
  /** Set when the scheduler served the request from a fallback, with the reason. */
  readonly fallbackReason?: string;
  /** The engine the request asked for (equals `engineId` unless served by a fallback). */
  readonly requestedEngineId?: string;
  /** Gives the lease back; idempotent. */
  release(): void;
  /**
   * Between two sentences: if a request queued for the same engine instance could run now,
   * it gets the slot and this holder waits for its next turn (sentence interleaving, see
   * turns.ts). Resolves at once when nobody waits; on abort, without the slot.
   */
  yieldTurn?(signal?: AbortSignal): Promise<void>;
  /**
   * Tells the scheduler the engine ran out of memory while serving this lease: the higher
   * need is recorded and the instance takes no new leases (it unloads once drained).
   * Returns the `engine:profile` key to pass in `avoid` when asking for a new lease.
   * `kind` "ram": the host stopped the engine past its RAM limit; `neededMb` is what it held
   * (ram-needs.ts). Default "vram": the device ran out (a GPU OOM).
   */
  reportOutOfMemory?(neededMb?: number, kind?: "vram" | "ram"): string;
}
