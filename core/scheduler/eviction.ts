/**
 * Eviction choice: the cheapest set of idle engines whose unloading covers a shortfall.
 * Callers pass only evictable instances (idle, ready, not pinned). Cost is the reload cost
 * weighted up for recent use; stale instances (an old plugin generation) cost nothing.
 */

export interface EvictionCandidate {
  id: number;
  /** What unloading it frees on the GPU in question, on the CPU, and in loaded-engine slots. */
  gpuMb: number;
  ramMb: number;
  loadSeconds: number;
  /** Milliseconds since its last request ended. */
  idleMs: number;
  stale: boolean;
}

export interface Shortfall {
  gpuMb: number;
  ramMb: number;
  slots: number;
}

export function evictionCost(c: EvictionCandidate): number {
  if (c.stale) return 0;
  const recency = Math.exp(-c.idleMs / 60_000); // 1 just used, ~0 after a few minutes
  return Math.max(0.05, c.loadSeconds) * (1 + 2 * recency);
}

const covers = (set: EvictionCandidate[], need: Shortfall) =>
  set.reduce((s, c) => s + c.gpuMb, 0) >= need.gpuMb && set.reduce((s, c) => s + c.ramMb, 0) >= need.ramMb && set.length >= need.slots;

/** Ids to evict, cheapest first; undefined when even all of them would not cover the need. */
export function chooseVictims(candidates: EvictionCandidate[], need: Shortfall): number[] | undefined {
  if (need.gpuMb <= 0 && need.ramMb <= 0 && need.slots <= 0) return [];
  const useful = candidates.filter((c) => (need.gpuMb > 0 && c.gpuMb > 0) || (need.ramMb > 0 && c.ramMb > 0) || need.slots > 0);
  if (!covers(useful, need)) return undefined;
  let best: { set: EvictionCandidate[]; cost: number } | undefined;
  const better = (set: EvictionCandidate[]) => {
    const cost = set.reduce((s, c) => s + evictionCost(c), 0);
    if (!best || cost < best.cost - 1e-9 || (Math.abs(cost - best.cost) <= 1e-9 && set.length < best.set.length)) best = { set, cost };
  };
  if (useful.length <= 12) {
    for (let mask = 1; mask < 1 << useful.length; mask++) {
      const set = useful.filter((_, i) => mask & (1 << i));
      if (covers(set, need)) better(set);
    }
  } else {
    // greedy: cheapest per MB freed first
    const sorted = [...useful].sort((a, b) => evictionCost(a) / (a.gpuMb + a.ramMb + 1) - evictionCost(b) / (b.gpuMb + b.ramMb + 1));
    const set: EvictionCandidate[] = [];
    for (const c of sorted) {
      set.push(c);
      if (covers(set, need)) break;
    }
    better(set);
  }
  return best!.set.sort((a, b) => evictionCost(a) - evictionCost(b)).map((c) => c.id);
}
