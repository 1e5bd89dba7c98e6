/**
 * Fit: how much memory a device can still give, and what a placement needs.
 * Free is taken conservatively: total - held by others (last reading) - held by Chorus's
 * engines and running requests (accounted now) - reserve. At a fresh reading this equals
 * min(driver's free, total - Chorus's holdings) - reserve.
 */
import type { PlacementProfile } from "../../packages/sdk/src/index.ts";
import type { Device } from "./devices.ts";

/** What one engine instance holds. */
export interface Holding {
  engineId: string;
  profile: string;
  /** GPU device id, when the profile runs on a GPU. */
  gpu?: string;
  /** Resident VRAM (declared, learned, or raised after an OOM). */
  vramMb: number;
  /** Transient VRAM held by requests running now. */
  tokensMb: number;
  ramMb: number;
}

export function heldOn(device: Device, holdings: Iterable<Holding>): number {
  let sum = 0;
  for (const h of holdings) {
    if (device.kind === "cpu") sum += h.ramMb;
    else if (h.gpu === device.id) sum += h.vramMb + h.tokensMb;
  }
  return sum;
}

/** Memory Chorus may still allocate on `device`. May be negative when others grew. */
export function freeMb(device: Device, held: number): number {
  return device.totalMb - device.othersMb - held - device.reserveMb;
}

/** Memory `device` could give Chorus if every engine not in `keep` were unloaded. */
export function capacityMb(device: Device, pinnedHeld: number): number {
  return device.totalMb - device.othersMb - pinnedHeld - device.reserveMb;
}

/** What loading `profile` needs: resident + one request's transient memory on the GPU, RAM. */
export function loadNeed(profile: PlacementProfile, vramMb: number): { gpuMb: number; ramMb: number } {
  return { gpuMb: profile.device === "cuda" ? vramMb + profile.transientVramMb : 0, ramMb: profile.ramMb };
}

/** Resident VRAM to account for a profile: declared, or a learned / raised figure. */
export function footprint(profile: PlacementProfile, learnedMb: number | undefined): number {
  if (profile.device !== "cuda") return 0;
  return learnedMb ?? profile.vramMb;
}

/** Bounds a measured footprint to [0.5x, 4x] of the declared one (measurements can be noisy). */
export function boundLearned(declaredMb: number, measuredMb: number): number {
  if (declaredMb <= 0) return Math.max(0, measuredMb);
  return Math.min(declaredMb * 4, Math.max(declaredMb * 0.5, measuredMb));
}
