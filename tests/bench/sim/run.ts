/**
 * The trace-driven simulation: the real Scheduler (and the baselines) on a simulated GPU
 * and a simulated clock. Returns one row per card x workload x policy.
 */
import pino from "pino";
import { SchedulerSchema } from "../../../core/config/schema.ts";
import { OutOfMemoryError } from "../../../packages/sdk/src/index.ts";
import { ManualClock } from "../../helpers/clock.ts";
import { Scheduler } from "../../../core/scheduler/scheduler.ts";
import { OllamaLike, OneEngineAtATime, PlainLru, type Policy, type Served } from "./baselines.ts";
import { SIM_ENGINES, SimGpu, SimLoader, simCatalog, simProbe, synthSeconds, type SimEngine } from "./world.ts";
import type { GpuProbe } from "../../../core/scheduler/devices.ts";
import { bursts, llmDesktop, longTexts, switching, type Workload } from "./workloads.ts";

export interface Card {
  name: string;
  totalMb: number;
  othersMb: number;
}

export const CARDS: Card[] = [
  { name: "4 GB, 1.5 GB others", totalMb: 4096, othersMb: 1536 },
  { name: "12 GB, 2 GB others", totalMb: 12288, othersMb: 2048 },
  { name: "24 GB, 0.5 GB others", totalMb: 24576, othersMb: 512 },
];

export const POLICIES = ["chorus", "one-engine", "ollama-like", "plain-lru"] as const;
export type PolicyName = (typeof POLICIES)[number];

export interface SimRow {
  card: string;
  workload: string;
  policy: PolicyName;
  requests: number;
  p50: number;
  p95: number;
  loads: number;
  evictions: number;
  fallbacks: number;
  ooms: number;
  failed: number;
  /**
   * A lower bound no policy can beat: p95 of each request's synthesis time alone on the
   * fastest of its engine's profiles that fits the card (no waiting, no loading).
   */
  floorP95: number;
}

const silent = pino({ level: "silent" });

/**
 * Chorus on the simulated card. With `probe` (others' memory changes over time) the card is
 * read like a real one (nvidia-smi readings); without, it is a configured simulated device.
 */
export function chorusScheduler(
  clock: ManualClock,
  loader: SimLoader,
  card: Card,
  engines: SimEngine[],
  extra: Record<string, unknown> = {},
  probe?: GpuProbe,
): Scheduler {
  const config = SchedulerSchema.parse({
    devices: { simulated: probe ? [] : [{ name: card.name, totalMb: card.totalMb, heldByOthersMb: card.othersMb }], cpuRamMb: 16384 },
    requestDeadlineSeconds: 3600,
    ...extra,
  });
  return new Scheduler({
    config,
    catalog: simCatalog(engines),
    loader,
    probe: probe ?? { read: async () => ({ ok: false, reason: "simulated" }) },
    clock,
    log: silent,
  });
}

class ChorusPolicy implements Policy {
  constructor(readonly s: Scheduler) {}

  async serve(engineId: string, chars: number): Promise<Served> {
    let lease = await this.s.acquire({ engineId });
    let retried = false;
    try {
      for (;;) {
        try {
          for await (const _ of lease.engine.synthesize(
            { text: "x".repeat(chars), voice: "default", speed: 1, pitch: 1, options: {} },
            new AbortController().signal,
          ))
            void _;
          return { engine: lease.engineId, profile: lease.profile.name, fallback: lease.fallbackReason !== undefined };
        } catch (err) {
          if (!(err instanceof OutOfMemoryError) || retried) throw err;
          retried = true;
          const avoid = lease.reportOutOfMemory!(err.neededMb);
          lease.release();
          lease = await this.s.acquire({ engineId, avoid: [avoid] });
        }
      }
    } finally {
      lease.release();
    }
  }

  async evictions(): Promise<number> {
    const m = await this.s.metrics.evictions.get();
    return m.values.filter((v) => v.labels.reason === "evicted").reduce((s, v) => s + v.value, 0);
  }
}

export async function simulate(card: Card, workload: Workload, policyName: PolicyName, engines = SIM_ENGINES): Promise<SimRow> {
  const clock = new ManualClock();
  const gpu = new SimGpu(card.totalMb, card.othersMb);
  const loader = new SimLoader(clock, gpu, engines);
  const policy: Policy =
    policyName === "chorus"
      ? new ChorusPolicy(chorusScheduler(clock, loader, card, engines, {}, workload.others ? simProbe(gpu) : undefined))
      : policyName === "one-engine"
        ? new OneEngineAtATime(loader, gpu, engines)
        : policyName === "ollama-like"
          ? new OllamaLike(loader, gpu, engines)
          : new PlainLru(loader, engines);
  const latencies: number[] = [];
  let failed = 0;
  let fallbacks = 0;
  const done: Promise<void>[] = [];
  const room = card.totalMb - card.othersMb;
  for (const o of workload.others ?? []) clock.timer(o.at, () => void (gpu.othersMb = card.othersMb + Math.round(o.share * room)));
  for (const req of workload.requests) {
    clock.timer(req.at, () => {
      const start = clock.now();
      done.push(
        policy.serve(req.engine, req.chars).then(
          (served) => {
            latencies.push((clock.now() - start) / 1000);
            if (served.fallback) fallbacks++;
          },
          () => void failed++,
        ),
      );
    });
  }
  for (let next = clock.next(); next !== undefined; next = clock.next()) await clock.advanceTo(next);
  await Promise.all(done);
  if (policy instanceof ChorusPolicy) await policy.s.close();
  const pctOf = (values: number[], p: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
  };
  const pct = (p: number) => pctOf(latencies, p);
  const floors = workload.requests.map((req) => {
    const profiles = engines.find((e) => e.manifest.id === req.engine)!.manifest.resources.profiles;
    const fitting = profiles.filter((p) => p.device === "cpu" || p.vramMb + p.transientVramMb <= room);
    return Math.min(...fitting.map((p) => synthSeconds(engines, req.engine, p.name, req.chars)));
  });
  return {
    card: card.name,
    workload: workload.name,
    policy: policyName,
    requests: workload.requests.length,
    p50: pct(50),
    p95: pct(95),
    loads: loader.stats.loads,
    evictions: await policy.evictions(),
    fallbacks,
    ooms: loader.stats.ooms,
    failed,
    floorP95: pctOf(floors, 95),
  };
}

export const WORKLOADS = (): Workload[] => [switching(), bursts(), longTexts(), llmDesktop()];

export async function simulateAll(cards = CARDS, workloads = WORKLOADS()): Promise<SimRow[]> {
  const rows: SimRow[] = [];
  for (const card of cards) for (const w of workloads) for (const p of POLICIES) rows.push(await simulate(card, w, p));
  return rows;
}
