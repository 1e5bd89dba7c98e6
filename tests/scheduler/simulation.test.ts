/**
 * The acceptance criteria on the simulation (virtual time, deterministic): Chorus has no OOMs
 * and no failures on every card and workload, and its p95 on engine switching is at most half
 * the one-engine-at-a-time baseline's.
 */
import { describe, expect, it } from "vitest";
import { simulateAll, type SimRow } from "../../core/scheduler/sim/run.ts";

describe("trace-driven simulation", () => {
  let rows: SimRow[] = [];
  it("runs every card x workload x policy", async () => {
    rows = await simulateAll();
    expect(rows.length).toBe(27);
  });

  it("Chorus: 0 OOMs and 0 failed requests everywhere", () => {
    const chorus = rows.filter((r) => r.policy === "chorus");
    expect(chorus.length).toBe(9);
    for (const r of chorus) expect({ card: r.card, workload: r.workload, ooms: r.ooms, failed: r.failed }).toEqual({ card: r.card, workload: r.workload, ooms: 0, failed: 0 });
  });

  it("Chorus p95 on switching <= half the one-engine baseline on every card", () => {
    for (const card of new Set(rows.map((r) => r.card))) {
      const get = (p: string) => rows.find((r) => r.card === card && r.workload === "switching" && r.policy === p)!;
      expect(get("chorus").p95).toBeLessThanOrEqual(get("one-engine").p95 / 2);
    }
  });

  it("the plain LRU baseline without a memory check runs out of memory on the small card", () => {
    const lru = rows.filter((r) => r.policy === "plain-lru" && r.card.startsWith("4 GB"));
    expect(lru.some((r) => r.ooms > 0 && r.failed > 0)).toBe(true);
  });
});
