/**
 * Replicas of a CPU engine instance: a profile that declares `parallelism: "replicas"` (its
 * `synthesize` blocks its thread, e.g. synchronous WASM) runs as several copies of the engine,
 * each in its own worker serving one request at a time (core/registry/engine-host.ts). The
 * scheduler decides how many when it loads the instance, books `ramMb` for each copy, and
 * grants as many leases at once as there are copies (sentence turns, turns.ts, share them).
 * How many: the profile's `maxParallel`, at most the core budget `engines.cpuReplicas`
 * (`auto`: the machine's cores minus one, which is left to the event loop; at least 1), and
 * at most as many as fit in the RAM free now: copies beyond the first are worth having only
 * where the memory is there, never at the price of evicting another engine or of waiting
 * (placement.ts plans with one copy's need when not even one fits, as without replicas).
 */
import os from "node:os";
import type { PlacementProfile } from "../../packages/sdk/src/index.ts";

/** The core budget for the replicas of one instance: `engines.cpuReplicas` resolved. */
export function cpuReplicaBudget(setting: "auto" | number, cores = os.availableParallelism()): number {
  return setting === "auto" ? Math.max(1, cores - 1) : Math.max(1, Math.floor(setting));
}

/** Copies of the engine an instance of `profile` runs (1 unless it declares replicas). */
export function replicaCount(profile: Pick<PlacementProfile, "device" | "maxParallel" | "parallelism">, budget: number): number {
  if (profile.parallelism !== "replicas" || profile.device !== "cpu") return 1;
  return Math.max(1, Math.min(profile.maxParallel, budget));
}

/** Copies of at most `max` that fit in `freeMb`, each `perCopyMb`: at least 1 (then placement evicts, waits or refuses for that one). */
export function copiesThatFit(max: number, perCopyMb: number, freeMb: number): number {
  if (max <= 1 || perCopyMb <= 0) return Math.max(1, max);
  return Math.max(1, Math.min(max, Math.floor(freeMb / perCopyMb)));
}

/** Requests an instance serves at once: one per copy for replicas, else the profile's `maxParallel`. */
export function capacity(inst: { spec: Pick<PlacementProfile, "maxParallel" | "parallelism">; replicas?: number }): number {
  return inst.spec.parallelism === "replicas" ? (inst.replicas ?? 1) : inst.spec.maxParallel;
}
