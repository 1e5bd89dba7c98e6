/**
 * RAM needs measured when an engine was stopped for memory (core/registry/memory-limit.ts:
 * past its declared `ramMb` plus the margin, or at the server's RSS ceiling). Like the VRAM
 * an OOM shows a GPU profile to need (`learned`, `peakNeeds`), the figure replaces the
 * declared `ramMb` of that `engine:profile` from then on: its next instance is booked on the
 * CPU device with it, so a placement that cannot fit it evicts idle engines, waits for busy
 * ones, goes down the fallback chain or is refused (placement.ts), instead of loading on
 * memory that is not there. Kept per plugin generation: new code may need less.
 * The host still enforces the plugin's limit; a request that makes the engine pass it again
 * is stopped again (once per request: the pipeline never re-places a request on a profile
 * that ran out of memory for it) and raises the figure to what it held then.
 */
import type { PlacementProfile } from "../../packages/sdk/src/index.ts";

export class RamNeeds {
  private readonly needs = new Map<string, { mb: number; generation: number }>();

  /** Records `measuredMb` for `key` (never lowers it within a generation); returns the figure now planned with. */
  record(key: string, generation: number, profile: PlacementProfile, measuredMb: number | undefined): number {
    const before = this.needs.get(key);
    const kept = before?.generation === generation ? before.mb : 0;
    const mb = Math.ceil(Math.max(kept, measuredMb ?? 0, profile.ramMb + 1));
    this.needs.set(key, { mb, generation });
    return mb;
  }

  /** The RAM to book for `key`: the declared `ramMb`, or the higher figure measured for this generation. */
  need(key: string, generation: number | undefined, profile: PlacementProfile): number {
    const n = this.needs.get(key);
    return n && n.generation === generation ? Math.max(profile.ramMb, n.mb) : profile.ramMb;
  }

  /** `engine:profile` -> MB, for GET /api/scheduler. */
  list(): Record<string, number> {
    return Object.fromEntries([...this.needs].map(([key, n]) => [key, n.mb]));
  }
}
