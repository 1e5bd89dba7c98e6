/**
 * The queue of requests waiting for a lease: bounded, each with a deadline and cancellation.
 * After any change of state (`pump`) every waiter is re-decided in arrival order by the pure
 * placement function, and its decision carried out: a lease, a load or eviction (loader.ts),
 * waiting (with the reason), or a refusal. Also the hand-over of a slot between sentences.
 */
import type { SchedulerConfig } from "../config/schema.ts";
import type { ChorusError } from "../errors.ts";
import { SynthesisAbortedError } from "../../packages/sdk/src/index.ts";
import type { Candidate } from "./chain.ts";
import type { Clock } from "./clock.ts";
import type { RecordDecision } from "./decisions.ts";
import type { LeaseGrants } from "./grant.ts";
import type { InstanceTable } from "./instances.ts";
import type { Lease, LeaseRequest } from "./lease.ts";
import type { InstanceLoader } from "./loader.ts";
import type { SchedulerMetrics } from "./metrics.ts";
import { decide, usable, type Placement, type PlacementView } from "./placement.ts";
import { deadlineError, queueFullError, refusalError, shuttingDownError } from "./refusal.ts";
import { Rereads } from "./rereads.ts";
import type { EngineCatalog, Instance } from "./types.ts";

interface Waiter {
  id: number;
  request: LeaseRequest;
  chain: Candidate[];
  /** Waiters with equal memo keys get the same decision within one pass. */
  memo: string;
  since: number;
  lastReason?: string;
  resolve(lease: Lease): void;
  reject(err: unknown): void;
  cleanup(): void;
}

export interface RequestQueueDeps {
  config: SchedulerConfig;
  catalog: EngineCatalog;
  clock: Clock;
  table: InstanceTable;
  loader: InstanceLoader;
  grants: LeaseGrants;
  metrics: SchedulerMetrics;
  record: RecordDecision;
  /** The state placement decides on, as of now. */
  view(): PlacementView;
  /** After every pass (training leases wait for the engines on their GPU to drain). */
  passed(): void;
}

export class RequestQueue {
  private readonly waiters = new Map<number, Waiter>();
  private nextWaiter = 1;
  private pumping = false;
  private again = false;
  private closing = false;
  private readonly rereads: Rereads;

  constructor(private readonly deps: RequestQueueDeps) {
    const { config, clock, table } = deps;
    this.rereads = new Rereads({ config, clock, table, closed: () => this.closing, changed: () => this.pump() });
  }

  /** Is `inst`'s GPU reading too old to grant it a request now? (rereads.ts; schedules the re-read) */
  readingStale(inst: Instance): boolean {
    return this.rereads.stale(inst);
  }

  get size(): number {
    return this.waiters.size;
  }

  get closed(): boolean {
    return this.closing;
  }

  /** Queues a request that could not be served at once; refuses it when the queue is full. */
  enqueue(request: LeaseRequest, chain: Candidate[], since: number): Promise<Lease> {
    const { config, metrics, record } = this.deps;
    if (this.waiters.size >= config.queueSize) {
      metrics.refusals.inc({ reason: "queue_full" });
      record("refuse", "queue_full", { engine: request.engineId, detail: `${this.waiters.size} waiting` }, "warn");
      throw queueFullError(config.queueSize, chain);
    }
    return new Promise<Lease>((resolve, reject) => {
      const id = this.nextWaiter++;
      const memo = `${request.engineId}|${request.fallback !== false}|${(request.avoid ?? []).join(",")}`;
      const onAbort = () => {
        if (!this.waiters.delete(id)) return;
        metrics.queueLength.set(this.waiters.size);
        record("queue", "cancelled", { engine: request.engineId }, "debug");
        cancelDeadline();
        reject(new SynthesisAbortedError("request cancelled while waiting for an engine"));
      };
      const cancelDeadline = this.deps.clock.timer(config.requestDeadlineSeconds * 1000, () => {
        if (!this.waiters.delete(id)) return;
        request.signal?.removeEventListener("abort", onAbort);
        metrics.queueLength.set(this.waiters.size);
        metrics.refusals.inc({ reason: "deadline" });
        record(
          "refuse",
          "deadline",
          { engine: request.engineId, detail: `waited ${config.requestDeadlineSeconds} s (${waiter.lastReason ?? "queued"})` },
          "warn",
        );
        reject(deadlineError(request.engineId, config.requestDeadlineSeconds, waiter.lastReason, chain));
      });
      const waiter: Waiter = {
        id,
        request,
        chain,
        memo,
        since,
        resolve,
        reject,
        cleanup: () => {
          cancelDeadline();
          request.signal?.removeEventListener("abort", onAbort);
        },
      };
      request.signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.set(id, waiter);
      metrics.queueLength.set(this.waiters.size);
      this.pump();
    });
  }

  /** Re-decides for every waiter, in arrival order, after any change of state. */
  pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        this.sweepStale();
        this.pass();
      } while (this.again);
    } finally {
      this.pumping = false;
      this.deps.metrics.queueLength.set(this.waiters.size);
    }
    this.deps.passed();
  }

  /** The error for a refusal (refusal.ts), recorded with its reason. */
  refuse(p: Extract<Placement, { kind: "refuse" }>, engineId: string): ChorusError {
    this.deps.metrics.refusals.inc({ reason: p.reason });
    this.deps.record("refuse", p.reason, { engine: engineId, detail: p.message }, "warn");
    return refusalError(p, engineId);
  }

  /**
   * Between two sentences of a lease on `inst`: the first queued request that would be served
   * by `inst` if the slot were free gets the slot now. True when it was handed over.
   */
  handOver(inst: Instance, tokens: number): boolean {
    if (!this.waiters.size || inst.state !== "ready") return false;
    inst.inFlight--;
    inst.tokensMb -= tokens;
    const view = this.deps.view();
    for (const w of this.waiters.values()) {
      const p = decide(w.chain, view);
      if (p.kind === "lease" && p.instance === inst && !this.rereads.stale(inst)) {
        this.waiters.delete(w.id);
        this.deps.metrics.queueLength.set(this.waiters.size);
        w.cleanup();
        w.resolve(this.deps.grants.grant(p, w.request, w.chain, w.since));
        return true;
      }
    }
    inst.inFlight++;
    inst.tokensMb += tokens;
    return false;
  }

  /** Waiting requests per engine (GET /api/scheduler). */
  byEngine(): Map<string, number> {
    const queuedBy = new Map<string, number>();
    for (const w of this.waiters.values()) queuedBy.set(w.request.engineId, (queuedBy.get(w.request.engineId) ?? 0) + 1);
    return queuedBy;
  }

  /** Rejects every waiter (server shutdown); new requests are turned away from now on. */
  close(): void {
    this.closing = true;
    for (const w of this.waiters.values()) {
      w.cleanup();
      w.reject(shuttingDownError());
    }
    this.waiters.clear();
  }

  private pass(): void {
    if (!this.waiters.size) return;
    this.serveReserved();
    const { loader, table } = this.deps;
    const waiting = new Set<string>();
    const view = this.deps.view();
    for (const w of this.waiters.values()) {
      if (waiting.has(w.memo)) continue;
      view.loadBusy = loader.busy;
      if (view.instances.length !== table.size) view.instances = table.list();
      const p = decide(w.chain, view);
      if (p.kind === "lease" && this.rereads.stale(p.instance)) {
        waiting.add(w.memo); // re-read first (rereadSoon): the others' share may have grown
      } else if (p.kind === "lease") {
        this.waiters.delete(w.id);
        w.cleanup();
        w.resolve(this.deps.grants.grant(p, w.request, w.chain, w.since));
      } else if (p.kind === "load" || p.kind === "evict") {
        if (p.kind === "load") loader.load(p, w.id);
        else loader.evict(p);
        view.loadBusy = true;
      } else if (p.kind === "wait") {
        waiting.add(w.memo);
        if (p.reason === "wait_memory") this.rereads.soon();
        if (w.lastReason !== p.reason) {
          w.lastReason = p.reason;
          this.deps.record("queue", p.reason, { engine: p.candidate.engineId, profile: p.candidate.profile.name, requested: w.request.engineId }, "debug");
        }
      } else {
        this.waiters.delete(w.id);
        w.cleanup();
        w.reject(this.refuse(p, w.request.engineId));
      }
    }
  }

  /** A waiter always gets the instance its request caused to load (before anyone else and before its keep-alive). */
  private serveReserved(): void {
    const view = { generation: (id: string) => this.deps.catalog.get(id)?.generation };
    for (const inst of this.deps.table.values()) {
      if (inst.reservedFor === undefined || inst.state !== "ready") continue;
      const w = this.waiters.get(inst.reservedFor);
      inst.reservedFor = undefined;
      const candidate = w?.chain.find((c) => c.key === inst.key);
      if (!w || !candidate || !usable(inst, view)) continue;
      this.waiters.delete(w.id);
      w.cleanup();
      w.resolve(this.deps.grants.grant({ kind: "lease", instance: inst, candidate, reason: "resident", misses: [] }, w.request, w.chain, w.since));
    }
  }

  /** Idle instances of an old plugin generation unload now; busy ones after they drain. */
  private sweepStale(): void {
    const view = { generation: (id: string) => this.deps.catalog.get(id)?.generation };
    for (const inst of this.deps.table.values()) {
      if (inst.state === "ready" && inst.inFlight === 0 && !usable(inst, view))
        void this.deps.loader.unload(inst, inst.retiring ?? "stale_generation", "unload");
    }
  }
}
