/**
 * The scheduler: every synthesis asks it for a lease. It is a small facade over composed
 * parts, each with its own module and interface:
 *   instances.ts   the instance table (loaded instances, devices and their readings)
 *   placement.ts   the pure placement function (with chain.ts, fit.ts, eviction.ts)
 *   loader.ts      carries placements out: loads, evictions, unloads, keep-alive expiry
 *   queue.ts       waiting requests (deadline, cancellation), re-decided after every change
 *   grant.ts       leases on loaded instances (turns.ts: sentence turns)
 *   footprints.ts  learned footprints and out-of-memory records
 *   controls.ts    pins, low-VRAM mode, keep-alive and preferred profiles set at run time
 *   training.ts    fine-tune jobs' GPU leases
 * Clock, GPU probe, engine loader and catalogue are injected, so unit tests, the simulator
 * (tests/bench/sim) and production (production.ts) run this same code.
 */
import type { Logger } from "pino";
import type { SchedulerConfig } from "../config/schema.ts";
import { ChorusError } from "../errors.ts";
import { SynthesisAbortedError } from "../../packages/sdk/src/index.ts";
import { buildChain } from "./chain.ts";
import type { Clock } from "./clock.ts";
import { EngineControls } from "./controls.ts";
import { Cooldowns } from "./cooldown.ts";
import { DecisionLog, decisionRecorder, type RecordDecision } from "./decisions.ts";
import type { GpuProbe } from "./devices.ts";
import { Footprints } from "./footprints.ts";
import { LeaseGrants } from "./grant.ts";
import { instanceHealth, type InstanceHealth } from "./health.ts";
import { InstanceTable } from "./instances.ts";
import type { Lease, LeaseRequest } from "./lease.ts";
import { InstanceLoader } from "./loader.ts";
import { SchedulerMetrics } from "./metrics.ts";
import { decide, type PlacementView } from "./placement.ts";
import { RequestQueue } from "./queue.ts";
import { replicaCount } from "./replicas.ts";
import { shuttingDownError } from "./refusal.ts";
import { schedulerSnapshot, type SchedulerSnapshot } from "./snapshot.ts";
import { TrainingLeases } from "./training.ts";
import type { EngineCatalog, EngineLoader } from "./types.ts";

export interface SchedulerDeps {
  config: SchedulerConfig;
  catalog: EngineCatalog;
  loader: EngineLoader;
  probe: GpuProbe;
  clock: Clock;
  log: Logger;
  /** Copies of one CPU instance at most, for `parallelism: "replicas"` (replicas.ts); default 1. */
  cpuReplicas?: number;
}

export interface ResidentInfo {
  engineId: string;
  profile: string;
  inFlight: number;
  lastUsed: string;
}

export class Scheduler {
  readonly metrics = new SchedulerMetrics();
  readonly decisions: DecisionLog;
  /** Fine-tune jobs' GPU leases (training.ts). */
  readonly training: TrainingLeases;
  private readonly config: SchedulerConfig;
  private readonly catalog: EngineCatalog;
  private readonly clock: Clock;
  private readonly record: RecordDecision;
  private readonly table: InstanceTable;
  private readonly controls: EngineControls;
  private readonly cooldowns: Cooldowns;
  private readonly footprints: Footprints;
  /** Copies of one CPU instance at most (`cpuReplicas`). */
  private readonly cpuReplicas: number;
  private readonly loader: InstanceLoader;
  private readonly grants: LeaseGrants;
  private readonly queue: RequestQueue;
  private readonly started: Promise<void>;

  constructor(deps: SchedulerDeps) {
    const { config, catalog, clock } = deps;
    const metrics = this.metrics;
    const log = deps.log.child({ component: "scheduler" });
    this.config = config;
    this.cpuReplicas = deps.cpuReplicas ?? 1;
    this.catalog = catalog;
    this.clock = clock;
    this.decisions = new DecisionLog(config.decisionLogSize);
    const record = (this.record = decisionRecorder(log, this.decisions, () => clock.now()));
    const cooldowns = (this.cooldowns = new Cooldowns(config.cooldown.initialSeconds * 1000, config.cooldown.maxSeconds * 1000));
    const controls = (this.controls = new EngineControls(config));
    const table = (this.table = new InstanceTable({ config, probe: deps.probe, clock, log, metrics }));
    const footprints = (this.footprints = new Footprints({ table, metrics, record, generation: (id) => catalog.get(id)?.generation }));
    const changed = () => this.queue.pump();
    const loader = (this.loader = new InstanceLoader({
      config,
      catalog,
      engines: deps.loader,
      clock,
      log,
      table,
      footprints,
      controls,
      cooldowns,
      metrics,
      record,
      changed,
    }));
    const grants = (this.grants = new LeaseGrants({
      clock,
      metrics,
      record,
      footprints,
      manifest: (id) => catalog.manifest(id),
      armExpiry: (inst) => loader.armExpiry(inst),
      changed,
      handOver: (inst, mb) => this.queue.handOver(inst, mb),
    }));
    this.queue = new RequestQueue({
      config,
      catalog,
      clock,
      table,
      loader,
      grants,
      metrics,
      record,
      view: () => this.view(),
      passed: () => this.training.changed(),
    });
    this.training = new TrainingLeases({
      devices: () => table.devices,
      instances: () => table.list(),
      pinned: (id) => controls.pinned(id),
      now: () => clock.now(),
      refresh: () => table.refresh(),
      evict: (inst, detail) => loader.unload(inst, "training_lease", "evict", detail),
      retire: (inst) => loader.retire(inst, "training_lease"),
      decision: record,
      pump: changed,
    });
    this.started = table.refresh();
  }

  async acquire(request: LeaseRequest): Promise<Lease> {
    await this.started;
    if (this.queue.closed) throw shuttingDownError();
    const manifest = this.catalog.manifest(request.engineId);
    if (!manifest) {
      const entry = this.catalog.get(request.engineId);
      if (entry)
        throw new ChorusError("CHORUS_ERR_ENGINE_UNAVAILABLE", `engine '${request.engineId}' is unavailable: ${entry.error ?? entry.status}`, {
          field: "engine",
        });
      throw new ChorusError("CHORUS_ERR_ENGINE_NOT_FOUND", `no engine '${request.engineId}'`, { field: "engine" });
    }
    if (request.signal?.aborted) throw new SynthesisAbortedError("request cancelled while waiting for an engine");
    const chain = buildChain(request.engineId, (id) => this.catalog.manifest(id), {
      fallback: request.fallback !== false,
      lowVram: (id) => this.controls.isLowVram(id),
      avoid: new Set(request.avoid ?? []),
      offered: (id, p) => this.catalog.profileOffered?.(id, p) ?? true,
      preferred: (id) => this.controls.preferredProfile(id),
    });
    const since = this.clock.now();
    const first = decide(chain, this.view());
    if (first.kind === "lease" && !this.queue.readingStale(first.instance)) return this.grants.grant(first, request, chain, since);
    if (first.kind === "refuse") throw this.queue.refuse(first, request.engineId);
    return this.queue.enqueue(request, chain, since);
  }

  /** Re-decides for the queue after a change outside the scheduler (a plugin removed or replaced). */
  changed(): void {
    this.queue.pump();
  }

  /** The pipeline resumed a request after its engine's worker died or hung (decision `fallback`). */
  noteResume(engineId: string, profile: string, detail: string, requested?: string, cause: "crash" | "hang" = "crash"): void {
    this.metrics.fallbacks.inc({ requested: requested ?? engineId, engine: engineId, profile });
    this.record(
      "fallback",
      cause === "hang" ? "resumed_after_hang" : "resumed_after_crash",
      { engine: engineId, profile, requested: requested !== engineId ? requested : undefined, detail },
      "warn",
    );
  }

  // ---- runtime controls (API / CLI) ----

  pin(engineId: string, on = true): void {
    this.controls.setPinned(engineId, on);
    for (const inst of this.table.of(engineId)) this.loader.armExpiry(inst);
  }

  setKeepAlive(engineId: string, seconds: number | undefined): void {
    this.controls.setKeepAlive(engineId, seconds);
    for (const inst of this.table.of(engineId)) {
      inst.keepAliveOverride = undefined;
      this.loader.armExpiry(inst);
    }
  }

  /** Low-VRAM mode: GPU profiles that hold the whole model are skipped; such instances retire. */
  setLowVram(engineId: string, on: boolean): void {
    this.controls.setLowVram(engineId, on);
    if (!on) return;
    const light = this.catalog.manifest(engineId)?.resources.profiles.some((p) => p.device !== "cuda" || p.transientVramMb > 0);
    for (const inst of this.table.of(engineId)) {
      if (light && inst.spec.device === "cuda" && inst.spec.transientVramMb === 0) this.loader.retire(inst, "low_vram_switch");
    }
  }

  /**
   * A profile to place an engine on first (AllTalk's DeepSpeed toggle), or none: instances on
   * other profiles (on, or that profile's when switched off) retire after their requests.
   */
  async setPreferredProfile(engineId: string, profile: string | undefined): Promise<void> {
    const before = this.controls.preferredProfile(engineId);
    this.controls.setPreferredProfile(engineId, profile);
    const idle: Promise<void>[] = [];
    for (const inst of this.table.of(engineId)) {
      if (profile !== undefined ? inst.profile === profile : inst.profile !== before) continue;
      inst.retiring = "profile_switch";
      // Idle ones unload now (resolved once their memory is back), so the next request finds room; busy ones after they drain.
      if (inst.state === "ready" && inst.inFlight === 0) idle.push(this.loader.unload(inst, "profile_switch", "unload"));
      else this.loader.armExpiry(inst);
    }
    await Promise.all(idle);
  }

  preferredProfile(engineId: string): string | undefined {
    return this.controls.preferredProfile(engineId);
  }

  /** Unloads an engine now (after its running requests). Returns how many instances. */
  unload(engineId: string): number {
    const list = this.table.of(engineId);
    for (const inst of list) this.loader.retire(inst, "unload_requested");
    return list.length;
  }

  isLoaded(engineId: string): boolean {
    return this.table.of(engineId).some((i) => i.state === "ready");
  }

  /** The engine's own `health()` answer for each loaded instance (GET /api/engines). */
  health(engineId: string, timeoutMs = 2000): Promise<InstanceHealth[]> {
    return instanceHealth(this.table.of(engineId), timeoutMs);
  }

  get queued(): number {
    return this.queue.size;
  }

  /** Rejects every waiter and unloads everything (server shutdown). */
  async close(): Promise<void> {
    this.queue.close();
    await this.loader.settled();
    await Promise.all(
      this.table.list().map(async (inst) => {
        inst.cancelExpiry?.();
        this.table.remove(inst);
        await inst.host?.terminate().catch(() => {});
      }),
    );
  }

  /** Everything GET /api/scheduler shows. */
  snapshot(decisions = 50): SchedulerSnapshot {
    const { clock, catalog, table, queue, controls, footprints, cooldowns, training } = this;
    return schedulerSnapshot(
      { clock, catalog, queueSize: this.config.queueSize, table, queue, controls, footprints, cooldowns, training, decisions: this.decisions },
      decisions,
    );
  }

  residents(): ResidentInfo[] {
    return this.snapshot(0).engines.map((e) => ({ engineId: e.engine, profile: e.profile, inFlight: e.inFlight, lastUsed: e.lastUsed ?? "" }));
  }

  /** The view's lookups: made once (a view is made for every decision; new closures each time cost ~0.15 ms a request). */
  private readonly lookups: Omit<PlacementView, "now" | "devices" | "instances" | "loadBusy" | "maxLoaded"> = {
    pinned: (id) => this.controls.pinned(id),
    cooldownMs: (key) => this.cooldowns.remaining(key, this.clock.now()),
    cooldownError: (key) => this.cooldowns.lastError(key),
    generation: (id) => this.catalog.get(id)?.generation,
    loadNeed: (c, copies) => this.footprints.loadNeed(c, copies),
    blocked: (id) => this.training.blocked(id),
    peakNeedMb: (id) => this.footprints.peakNeedMb(id),
    replicas: (c) => replicaCount(c.profile, this.cpuReplicas),
  };

  /** The state placement decides on, as of now. */
  private view(): PlacementView {
    const { clock, table } = this;
    return { ...this.lookups, now: clock.now(), devices: table.devices, instances: table.list(), loadBusy: this.loader.busy, maxLoaded: this.config.maxLoaded };
  }
}
