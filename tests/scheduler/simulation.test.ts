/**
 * The acceptance criteria on the simulation (virtual time, deterministic): Chorus has no OOMs
 * and no failures on every card and workload, its p95 on engine switching is at most half
 * the one-engine-at-a-time baseline's, and it is never worse than the Ollama-like baseline.
 */
import { describe, expect, it } from "vitest";
import { simulateAll, type SimRow } from "../bench/sim/run.ts";

describe("trace-driven simulation", () => {
  let rows: SimRow[] = [];
  it("runs every card x workload x policy", async () => {
    rows = await simulateAll();
    expect(rows.length).toBe(48); // 3 cards x 4 workloads x 4 policies
    expect(new Set(rows.map((r) => r.workload))).toEqual(new Set(["switching", "bursts", "long texts", "desktop LLM"]));
  });

  it("Chorus: 0 OOMs and 0 failed requests everywhere", () => {
    const chorus = rows.filter((r) => r.policy === "chorus");
    expect(chorus.length).toBe(12);
    for (const r of chorus)
      expect({ card: r.card, workload: r.workload, ooms: r.ooms, failed: r.failed }).toEqual({ card: r.card, workload: r.workload, ooms: 0, failed: 0 });
  });

  it("Chorus p95 on switching <= half the one-engine baseline on every card", () => {
    for (const card of new Set(rows.map((r) => r.card))) {
      const get = (p: string) => rows.find((r) => r.card === card && r.workload === "switching" && r.policy === p)!;
      expect(get("chorus").p95).toBeLessThanOrEqual(get("one-engine").p95 / 2);
    }
  });

  it("Chorus p95 <= the Ollama-like baseline's on every card x workload, and never below the floor", () => {
    for (const r of rows.filter((x) => x.policy === "chorus")) {
      const ollama = rows.find((x) => x.card === r.card && x.workload === r.workload && x.policy === "ollama-like")!;
      expect({ card: r.card, workload: r.workload, better: r.p95 <= ollama.p95 }).toEqual({ card: r.card, workload: r.workload, better: true });
      expect(r.p95).toBeGreaterThanOrEqual(r.floorP95 - 1e-9);
    }
  });

  it("a desktop LLM that grows and shrinks on the 4 GB card: Chorus re-reads the card and keeps p95 <= half the one-engine baseline", () => {
    const get = (p: string) => rows.find((r) => r.card.startsWith("4 GB") && r.workload === "desktop LLM" && r.policy === p)!;
    expect(get("chorus").p95).toBeLessThanOrEqual(get("one-engine").p95 / 2);
    expect(get("one-engine").failed + get("ollama-like").failed).toBeGreaterThan(0); // the baselines trip over the changing share
  });

  it("the plain LRU baseline without a memory check runs out of memory on the small card", () => {
    const lru = rows.filter((r) => r.policy === "plain-lru" && r.card.startsWith("4 GB"));
    expect(lru.some((r) => r.ooms > 0 && r.failed > 0)).toBe(true);
  });
});
