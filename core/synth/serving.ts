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

/** The lease and voice serving a request now (both change when it is re-placed). */
export interface Serving {
  lease: Lease;
  voice: string;
  /** The request's speed and pitch, for fitting them to a new engine (prosody.ts). */
  requested?: { speed?: number; pitch?: number };
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
