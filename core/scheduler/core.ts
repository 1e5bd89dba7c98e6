/**
 * The scheduler proper: every synthesis asks it for a lease. Decisions are made one at a
 * time by the pure ladder in placement.ts; this class runs them: leases, the bounded queue
 * with deadlines and cancellation, fallbacks, refusals, OOM reports and runtime controls.
 * Clock, GPU probe, loader and catalogue are injected, so unit tests, the simulator and
 * production run this same code.
 */
import { ChorusError } from "../errors.ts";
import { SynthesisAbortedError } from "../../packages/sdk/src/index.ts";
import { buildChain, type Candidate } from "./chain.ts";
import { EngineLifecycle } from "./lifecycle.ts";
import type { Lease, LeaseRequest } from "./lease.ts";
import { decide, usable, type Placement } from "./placement.ts";
import type { Instance } from "./types.ts";
import { instanceHealth, type InstanceHealth } from "./health.ts";

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

export class SchedulerCore extends EngineLifecycle {
  private readonly queue = new Map<number, Waiter>();
  private nextWaiter = 1;
  private pumping = false;
  private again = false;
  private closing = false;

  async acquire(request: LeaseRequest): Promise<Lease> {
    await this.started;
    if (this.closing) throw new ChorusError("CHORUS_ERR_SCHEDULER_BUSY", "the server is shutting down", { retryAfter: 5 });
    const manifest = this.catalog.manifest(request.engineId);
    if (!manifest) {
      const entry = this.catalog.get(request.engineId);
      if (entry) throw new ChorusError("CHORUS_ERR_ENGINE_UNAVAILABLE", `engine '${request.engineId}' is unavailable: ${entry.error ?? entry.status}`, { field: "engine" });
      throw new ChorusError("CHORUS_ERR_ENGINE_NOT_FOUND", `no engine '${request.engineId}'`, { field: "engine" });
    }
    if (request.signal?.aborted) throw new SynthesisAbortedError("request cancelled while waiting for an engine");
    const chain = buildChain(request.engineId, (id) => this.catalog.manifest(id), { fallback: request.fallback !== false, lowVram: (id) => this.lowVram.has(id), avoid: new Set(request.avoid ?? []) });
    const since = this.clock.now();
    const first = decide(chain, this.view());
    if (first.kind === "lease") return this.grant(first, request, chain, since);
    if (first.kind === "refuse") throw this.refusal(first, request.engineId);
    if (this.queue.size >= this.config.queueSize) {
      this.metrics.refusals.inc({ reason: "queue_full" });
      this.decision("refuse", "queue_full", { engine: request.engineId, detail: `${this.queue.size} waiting` }, "warn");
      throw new ChorusError("CHORUS_ERR_SCHEDULER_BUSY", `scheduler queue is full (${this.config.queueSize} waiting)`, { retryAfter: this.retryAfterSeconds(chain) });
    }
    return new Promise<Lease>((resolve, reject) => {
      const id = this.nextWaiter++;
      const memo = `${request.engineId}|${request.fallback !== false}|${(request.avoid ?? []).join(",")}`;
      const onAbort = () => {
        if (!this.queue.delete(id)) return;
        this.metrics.queueLength.set(this.queue.size);
        this.decision("queue", "cancelled", { engine: request.engineId }, "debug");
        cancelDeadline();
        reject(new SynthesisAbortedError("request cancelled while waiting for an engine"));
      };
      const cancelDeadline = this.clock.timer(this.config.requestDeadlineSeconds * 1000, () => {
        if (!this.queue.delete(id)) return;
        request.signal?.removeEventListener("abort", onAbort);
        this.metrics.queueLength.set(this.queue.size);
        this.metrics.refusals.inc({ reason: "deadline" });
        this.decision("refuse", "deadline", { engine: request.engineId, detail: `waited ${this.config.requestDeadlineSeconds} s (${waiter.lastReason ?? "queued"})` }, "warn");
        reject(new ChorusError("CHORUS_ERR_SCHEDULER_BUSY", `no placement for '${request.engineId}' within ${this.config.requestDeadlineSeconds} s (${waiter.lastReason ?? "queued"})`, { retryAfter: this.retryAfterSeconds(chain) }));
      });
      const waiter: Waiter = {
        id, request, chain, memo, since, resolve, reject,
        cleanup: () => {
          cancelDeadline();
          request.signal?.removeEventListener("abort", onAbort);
        },
      };
      request.signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.set(id, waiter);
      this.metrics.queueLength.set(this.queue.size);
      this.pump();
    });
  }

  /** Re-decides for every waiter, in arrival order, after any change of state. */
  protected pump(): void {
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
      this.metrics.queueLength.set(this.queue.size);
    }
  }

  private pass(): void {
    if (!this.queue.size) return;
    this.serveReserved();
    const waiting = new Set<string>();
    const view = this.view();
    for (const w of this.queue.values()) {
      if (waiting.has(w.memo)) continue;
      view.loadBusy = this.loadBusy !== undefined;
      if (view.instances.length !== this.instances.size) view.instances = [...this.instances.values()];
      const p = decide(w.chain, view);
      if (p.kind === "lease") {
        this.queue.delete(w.id);
        w.cleanup();
        w.resolve(this.grant(p, w.request, w.chain, w.since));
      } else if (p.kind === "load" || p.kind === "evict") {
        if (p.kind === "load") this.execute(p, w.id);
        else this.executeEvict(p);
        view.loadBusy = true;
      } else if (p.kind === "wait") {
        waiting.add(w.memo);
        if (w.lastReason !== p.reason) {
          w.lastReason = p.reason;
          this.decision("queue", p.reason, { engine: p.candidate.engineId, profile: p.candidate.profile.name, requested: w.request.engineId }, "debug");
        }
      } else {
        this.queue.delete(w.id);
        w.cleanup();
        w.reject(this.refusal(p, w.request.engineId));
      }
    }
  }

  /** A waiter always gets the instance its request caused to load (before anyone else and before its keep-alive). */
  private serveReserved(): void {
    const view = { generation: (id: string) => this.catalog.get(id)?.generation };
    for (const inst of this.instances.values()) {
      if (inst.reservedFor === undefined || inst.state !== "ready") continue;
      const w = this.queue.get(inst.reservedFor);
      inst.reservedFor = undefined;
      const candidate = w?.chain.find((c) => c.key === inst.key);
      if (!w || !candidate || !usable(inst, view)) continue;
      this.queue.delete(w.id);
      w.cleanup();
      w.resolve(this.grant({ kind: "lease", instance: inst, candidate, reason: "resident", misses: [] }, w.request, w.chain, w.since));
    }
  }

  /** Idle instances of an old plugin generation unload now; busy ones after they drain. */
  private sweepStale(): void {
    const view = { generation: (id: string) => this.catalog.get(id)?.generation };
    for (const inst of this.instances.values()) {
      if (inst.state === "ready" && inst.inFlight === 0 && !usable(inst, view)) void this.unloadInstance(inst, inst.retiring ?? "stale_generation", "unload");
    }
  }

  private grant(p: Extract<Placement, { kind: "lease" }>, request: LeaseRequest, chain: Candidate[], since: number): Lease {
    const inst = p.instance;
    inst.inFlight++;
    inst.tokensMb += inst.gpu ? inst.spec.transientVramMb : 0;
    inst.lastUsed = this.clock.now();
    inst.cancelExpiry?.();
    inst.cancelExpiry = inst.expiresAt = undefined;
    if (request.keepAliveSeconds !== undefined) inst.keepAliveOverride = request.keepAliveSeconds;
    this.metrics.leaseWait.observe((this.clock.now() - since) / 1000);
    let fallbackReason: string | undefined;
    if (p.candidate !== chain[0]) {
      fallbackReason = `${chain[0]?.key ?? request.engineId} unavailable (${p.misses[0] ?? inst.note ?? "busy"}); served by ${p.candidate.key}`;
      this.metrics.fallbacks.inc({ requested: request.engineId, engine: inst.engineId, profile: inst.profile });
      this.decision("fallback", "fallback", { engine: inst.engineId, profile: inst.profile, device: inst.gpu ?? "cpu", requested: request.engineId, detail: fallbackReason });
    }
    const started = this.clock.now();
    let released = false;
    return {
      engineId: inst.engineId,
      profile: inst.spec,
      engine: inst.host!,
      fallbackReason,
      requestedEngineId: request.engineId,
      release: () => {
        if (released) return;
        released = true;
        inst.inFlight--;
        inst.tokensMb -= inst.gpu ? inst.spec.transientVramMb : 0;
        inst.lastUsed = this.clock.now();
        this.metrics.synthesis.observe({ engine: inst.engineId }, (this.clock.now() - started) / 1000);
        // queued requests take the instance first; keep-alive 0 means "after the last lease ends"
        this.pump();
        this.armExpiry(inst);
      },
      reportOutOfMemory: (neededMb?: number) => {
        this.raiseNeed({ key: inst.key, profile: inst.spec }, neededMb, inst.vramMb);
        inst.retiring = "oom_synthesis";
        this.metrics.ooms.inc({ engine: inst.engineId, profile: inst.profile, phase: "synthesis" });
        this.decision("oom", "oom_synthesis", { engine: inst.engineId, profile: inst.profile, device: inst.gpu ?? "cpu", detail: `needs ${this.learned.get(inst.key) ?? inst.vramMb} MB resident now; re-placing down the chain` }, "warn");
        return inst.key;
      },
    };
  }

  private refusal(p: Extract<Placement, { kind: "refuse" }>, engineId: string): ChorusError {
    this.metrics.refusals.inc({ reason: p.reason });
    this.decision("refuse", p.reason, { engine: engineId, detail: p.message }, "warn");
    const retryAfter = Math.max(1, Math.ceil((p.retryAfterMs ?? 30_000) / 1000));
    if (p.reason === "cooldown") return new ChorusError("CHORUS_ERR_ENGINE_UNAVAILABLE", `engine '${engineId}' cannot be loaded: ${p.message}`, { field: "engine", retryAfter });
    return new ChorusError("CHORUS_ERR_SCHEDULER_BUSY", `no placement for '${engineId}': ${p.message}`, { retryAfter, details: { reason: p.reason } });
  }

  private retryAfterSeconds(chain: Candidate[]): number {
    return Math.max(1, Math.ceil(chain[0]?.profile.loadSeconds ?? 1));
  }

  /** The pipeline resumed a request after its engine's worker died (decision `fallback`). */
  noteResume(engineId: string, profile: string, detail: string, requested?: string): void {
    this.metrics.fallbacks.inc({ requested: requested ?? engineId, engine: engineId, profile });
    this.decision("fallback", "resumed_after_crash", { engine: engineId, profile, requested: requested !== engineId ? requested : undefined, detail }, "warn");
  }

  // ---- runtime controls (API / CLI) ----

  pin(engineId: string, on = true): void {
    if (on) this.pins.add(engineId);
    else this.pins.delete(engineId);
    for (const inst of this.instancesOf(engineId)) this.armExpiry(inst);
  }

  setKeepAlive(engineId: string, seconds: number | undefined): void {
    if (seconds === undefined) this.keepAlive.delete(engineId);
    else this.keepAlive.set(engineId, seconds);
    for (const inst of this.instancesOf(engineId)) {
      inst.keepAliveOverride = undefined;
      this.armExpiry(inst);
    }
  }

  /** Low-VRAM mode: GPU profiles that hold the whole model are skipped; such instances retire. */
  setLowVram(engineId: string, on: boolean): void {
    if (on) this.lowVram.add(engineId);
    else this.lowVram.delete(engineId);
    if (!on) return;
    const light = this.catalog.manifest(engineId)?.resources.profiles.some((p) => p.device !== "cuda" || p.transientVramMb > 0);
    for (const inst of this.instancesOf(engineId)) {
      if (light && inst.spec.device === "cuda" && inst.spec.transientVramMb === 0) this.retire(inst, "low_vram_switch");
    }
  }

  /** Unloads an engine now (after its running requests). Returns how many instances. */
  unload(engineId: string): number {
    const list = this.instancesOf(engineId);
    for (const inst of list) this.retire(inst, "unload_requested");
    return list.length;
  }

  private retire(inst: Instance, reason: Instance["retiring"]): void {
    inst.retiring = reason;
    this.armExpiry(inst);
  }

  private instancesOf(engineId: string): Instance[] {
    return [...this.instances.values()].filter((i) => i.engineId === engineId && i.state !== "unloading");
  }

  isLoaded(engineId: string): boolean {
    return this.instancesOf(engineId).some((i) => i.state === "ready");
  }

  /** The engine's own `health()` answer for each loaded instance (GET /api/engines). */
  health(engineId: string, timeoutMs = 2000): Promise<InstanceHealth[]> {
    return instanceHealth(this.instancesOf(engineId), timeoutMs);
  }

  get queued(): number {
    return this.queue.size;
  }

  /** Rejects every waiter and unloads everything (server shutdown). */
  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.queue.values()) {
      w.cleanup();
      w.reject(new ChorusError("CHORUS_ERR_SCHEDULER_BUSY", "the server is shutting down", { retryAfter: 5 }));
    }
    this.queue.clear();
    await this.loadBusy?.catch(() => {});
    await Promise.all([...this.instances.values()].map(async (inst) => {
      inst.cancelExpiry?.();
      this.instances.delete(inst.id);
      await inst.host?.terminate().catch(() => {});
    }));
  }

  /** Everything GET /api/scheduler shows. */
  snapshot(decisions = 50) {
    const now = this.clock.now();
    const queuedBy = new Map<string, number>();
    for (const w of this.queue.values()) queuedBy.set(w.request.engineId, (queuedBy.get(w.request.engineId) ?? 0) + 1);
    const iso = (t?: number) => (t === undefined ? null : new Date(t).toISOString());
    const list = [...this.instances.values()];
    return {
      gpu: this.gpuStatus,
      devices: this.devices.map((d) => ({
        id: d.id, kind: d.kind, name: d.name, simulated: d.simulated, totalMb: d.totalMb, freeMb: Math.round(d.lastFreeMb), readAt: iso(d.readAt),
        heldByOthersMb: Math.round(d.othersMb), reserveMb: d.reserveMb,
        holdings: list.filter((i) => (d.kind === "cpu" ? i.ramMb > 0 : i.gpu === d.id)).map((i) => ({
          engine: i.engineId, profile: i.profile, residentMb: d.kind === "cpu" ? i.ramMb : i.vramMb, transientMb: d.kind === "cpu" ? 0 : i.tokensMb,
        })),
      })),
      engines: list.map((i) => ({
        engine: i.engineId, profile: i.profile, device: i.gpu ?? "cpu", state: i.retiring && i.state === "ready" ? "draining" : i.state,
        generation: i.generation, stale: i.generation !== this.catalog.get(i.engineId)?.generation, retiring: i.retiring ?? null,
        inFlight: i.inFlight, queued: queuedBy.get(i.engineId) ?? 0, pinned: this.pins.has(i.engineId), lowVram: this.lowVram.has(i.engineId),
        keepAliveSeconds: this.keepAliveSeconds(i), lastUsed: iso(i.lastUsed), unloadAt: iso(i.expiresAt),
      })),
      queue: { length: this.queue.size, max: this.config.queueSize, byEngine: Object.fromEntries(queuedBy) },
      pinned: [...this.pins], lowVram: [...this.lowVram], keepAlive: Object.fromEntries(this.keepAlive),
      cooldowns: this.cooldowns.list(now),
      decisions: this.decisions.list(decisions),
    };
  }
}
