/**
 * What one running request is served by, and what re-placing it needs: shared by the pipeline's
 * sentence loop (pipeline.ts) and its two ways of moving a request mid-way, after an
 * out-of-memory (oom.ts) and after a worker loss (resume.ts).
 */
import type { Lease } from "../scheduler/lease.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { Manifest } from "../../packages/sdk/src/index.ts";
import type { LeaseSource } from "./lease-hold.ts";
import type { EngineVoices } from "./voices.ts";
import { prosodyFor } from "./prosody.ts";

/** The lease and voice serving a request now (both change when it is re-placed). */
export interface Serving {
  lease: Lease;
  voice: string;
  /** What the client asked for (before any engine's defaults or ranges), for fitting it to a new engine. */
  requested: { speed?: number; pitch?: number; options: Record<string, unknown> };
}

/** What the engine is given for each sentence, besides its text. */
export interface SynthParams {
  voice: string;
  speed: number;
  pitch: number;
  options: Record<string, unknown>;
  continues?: boolean;
}

/** A request's means of re-placement. */
export interface Replacing {
  signal: AbortSignal;
  fallback: boolean | undefined;
  leases: LeaseSource;
  voices: EngineVoices;
  scheduler: Pick<Scheduler, "noteResume">;
  /** The request's options as another engine can take them (options.ts `carriedOptions`, logged). */
  carriedOptions(manifest: Manifest): Record<string, unknown>;
}

/**
 * The parameters for the engine that serves `serving` after a move to another engine (an
 * out-of-memory or a worker loss): the voice already resolved for it, the client's options as
 * it can take them, speed and pitch as it declares them (never a value it did not declare).
 */
export function fittedToNewEngine(serving: Serving, params: SynthParams, ctx: Replacing): SynthParams {
  const manifest = serving.lease.manifest;
  const prosody = prosodyFor(manifest, serving.requested);
  return { ...params, voice: serving.voice, options: ctx.carriedOptions(manifest), speed: prosody.speed, pitch: prosody.pitch };
}
