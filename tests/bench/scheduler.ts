/**
 * Scheduler benchmark (issue 3): the trace-driven simulation (Chorus vs one engine at a time
 * with reload on switch vs plain LRU without fallbacks, on 4/12/24 GB cards with memory held
 * by others; switching, bursts, long texts) and the decision time with 1,000 queued requests.
 */
import { decisionTiming } from "../../core/scheduler/sim/timing.ts";
import { simulateAll, type SimRow } from "../../core/scheduler/sim/run.ts";

function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ")).join("\n");
}

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");

export async function benchScheduler(): Promise<{ rows: SimRow[]; timing: Awaited<ReturnType<typeof decisionTiming>> }> {
  const rows = await simulateAll();
  const header = ["card", "workload", "policy", "p50 s", "p95 s", "loads", "evictions", "fallbacks", "OOMs", "failed"];
  console.log("\nScheduler simulation (virtual time; latency = arrival to last audio)\n");
  console.log(table([header, ...rows.map((r) => [r.card, r.workload, r.policy, f(r.p50), f(r.p95), r.loads, r.evictions, r.fallbacks, r.ooms, r.failed])]));
  const timing = await decisionTiming();
  console.log(`\nDecision time with ${timing.queued} queued requests: new request ${timing.acquireUs.toFixed(1)} us; ` +
    `full re-evaluation of the queue ${timing.passUs.toFixed(1)} us (${timing.distinct} distinct waiters)`);
  return { rows, timing };
}
