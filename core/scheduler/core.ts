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
import { TrainingLeases } from "./training.ts";
import { instanceHealth, type InstanceHealth } from "./health.ts";
import { Turns } from "./turns.ts";
import { freeMb, heldOn } from "./fit.ts";

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
  private readonly turns = new Turns();
  /** Fine-tune jobs' GPU leases (training.ts). */
  readonly training = new TrainingLeases({
    devices: () => this.devices,
    instances: () => [...this.instances.values()],
    pinned: (id) => this.pins.has(id),
    now: () => this.clock.now(),
    refresh: () => this.refresh(),
    evict: (inst, detail) => this.unloadInstance(inst, "training_lease", "evict", detail),
    retire: (inst) => this.retire(inst, "training_lease"),
    decision: (action, reason, d, level) => this.decision(action, reason, d, level),
    pump: () => this.pump(),
  });

  protected override blockedDevice(deviceId: string): string | undefined {
    return this.training.blocked(deviceId);
  }
  private readonly preferred = new Map<string, string>();

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
    const chain = buildChain(request.engineId, (id) => this.catalog.manifest(id), {
      fallback: request.fallback !== false, lowVram: (id) => this.lowVram.has(id), avoid: new Set(request.avoid ?? []),
      offered: (id, p) => this.catalog.profileOffered?.(id, p) ?? true, preferred: (id) => this.preferred.get(id),
    });
    const since = this.clock.now();
    const first = decide(chain, this.view());
    if (first.kind === "lease" && !this.readingStale(first.instance)) return this.grant(first, request, chain, since);
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
    this.training.changed();
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
      if (p.kind === "lease" && this.readingStale(p.instance)) {
        waiting.add(w.memo); // re-read first (rereadSoon): the others' share may have grown
      } else if (p.kind === "lease") {
        this.queue.delete(w.id);
        w.cleanup();
        w.resolve(this.grant(p, w.request, w.chain, w.since));
      } else if (p.kind === "load" || p.kind === "evict") {
        if (p.kind === "load") this.execute(p, w.id);
        else this.executeEvict(p);
        view.loadBusy = true;
      } else if (p.kind === "wait") {
        waiting.add(w.memo);
        if (p.reason === "wait_memory") this.rereadSoon();
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

  private rereadPending = false;

  /**
   * A request that takes per-request GPU memory is granted only on a recent reading of that
   * GPU: an older one may miss what other processes took since. Schedules the re-read.
   */
  private readingStale(inst: Instance): boolean {
    if (!inst.gpu || inst.spec.transientVramMb <= 0) return false;
    const gpu = this.devices.find((d) => d.id === inst.gpu);
    if (!gpu || gpu.simulated || this.clock.now() - gpu.readAt < this.config.memoryRereadSeconds * 1000) return false;
    this.rereadSoon(0);
    return true;
  }

  /**
   * Requests wait for memory: other processes (a desktop LLM) may have freed some, which only a
   * fresh reading shows. Re-reads the GPUs every `memoryRereadSeconds` while any request waits.
   */
  private rereadSoon(ms = this.config.memoryRereadSeconds * 1000): void {
    if (this.rereadPending || this.closing || this.devices.every((d) => d.kind === "cpu" || d.simulated)) return;
    this.rereadPending = true;
    this.clock.timer(ms, () => {
      void this.refresh().then(() => {
        this.rereadPending = false;
        this.pump();
      });
    });
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
    // Down the chain: past its head, or a re-placement after profiles failed the request (`avoid`: out of memory, lost worker).
    if (p.candidate !== chain[0] || request.avoid?.length) {
      const passed = p.candidate !== chain[0] ? `${chain[0]?.key ?? request.engineId} unavailable (${p.misses[0] ?? inst.note ?? "busy"})` : `${request.avoid!.join(", ")} failed this request`;
      fallbackReason = `${passed}; served by ${p.candidate.key}`;
      this.metrics.fallbacks.inc({ requested: request.engineId, engine: inst.engineId, profile: inst.profile });
      this.decision("fallback", "fallback", { engine: inst.engineId, profile: inst.profile, device: inst.gpu ?? "cpu", requested: request.engineId, detail: fallbackReason });
    }
    const started = this.clock.now();
    let released = false;
    let holding = true;
    const tokens = inst.gpu ? inst.spec.transientVramMb : 0;
    return {
      engineId: inst.engineId,
      profile: inst.spec,
      engine: inst.host!,
      fallbackReason,
      requestedEngineId: request.engineId,
      release: () => {
        if (released) return;
        released = true;
        if (!holding) return; // handed over, not back yet: no slot to give
        if (this.turns.passOn(inst.id)) return; // the slot goes to a holder waiting for its turn
        inst.inFlight--;
        inst.tokensMb -= inst.gpu ? inst.spec.transientVramMb : 0;
        inst.lastUsed = this.clock.now();
        this.metrics.synthesis.observe({ engine: inst.engineId }, (this.clock.now() - started) / 1000);
        // queued requests take the instance first; keep-alive 0 means "after the last lease ends"
        this.pump();
        this.armExpiry(inst);
      },
      yieldTurn: async (signal?: AbortSignal) => {
        if (released || !holding || !this.handOver(inst, tokens)) return;
        holding = false;
        holding = await this.turns.wait(inst.id, signal);
      },
      reportOutOfMemory: (neededMb?: number, kind?: "vram" | "ram") => {
        if (kind === "ram") return this.ramLimitPassed(inst, neededMb);
        const peak = this.recordPeak(inst, neededMb);
        this.raiseNeed({ key: inst.key, profile: inst.spec }, neededMb, inst.vramMb);
        inst.retiring = "oom_synthesis";
        this.metrics.ooms.inc({ engine: inst.engineId, profile: inst.profile, phase: "synthesis" });
        const detail = `needs ${this.learned.get(inst.key) ?? inst.vramMb} MB resident now${peak ? `, ${peak} MB of VRAM at its peak (any GPU profile must fit that)` : ""}; re-placing down the chain`;
        this.decision("oom", "oom_synthesis", { engine: inst.engineId, profile: inst.profile, device: inst.gpu ?? "cpu", detail }, "warn");
        return inst.key;
      },
    };
  }

  /**
   * Between two sentences of a lease on `inst`: the first queued request that would be served
   * by `inst` if the slot were free gets the slot now. True when it was handed over.
   */
  private handOver(inst: Instance, tokens: number): boolean {
    if (!this.queue.size || inst.state !== "ready") return false;
    inst.inFlight--;
    inst.tokensMb -= tokens;
    const view = this.view();
    for (const w of this.queue.values()) {
      const p = decide(w.chain, view);
      if (p.kind === "lease" && p.instance === inst && !this.readingStale(inst)) {
        this.queue.delete(w.id);
        this.metrics.queueLength.set(this.queue.size);
        w.cleanup();
        w.resolve(this.grant(p, w.request, w.chain, w.since));
        return true;
      }
    }
    inst.inFlight++;
    inst.tokensMb += tokens;
    return false;
  }

  /** The host stopped `inst` past its RAM limit: its next placement is booked with what it held (ram-needs.ts). */
  private ramLimitPassed(inst: Instance, neededMb: number | undefined): string {
    const mb = this.ramNeeds.record(inst.key, inst.generation, inst.spec, neededMb);
    inst.retiring = "memory_limit";
    this.metrics.ooms.inc({ engine: inst.engineId, profile: inst.profile, phase: "synthesis" });
    this.decision("oom", "memory_limit", { engine: inst.engineId, profile: inst.profile, device: inst.gpu ?? "cpu", detail: `held ${Math.round(neededMb ?? mb)} MB of RAM (declared ${inst.spec.ramMb} MB); its next placement books ${mb} MB of RAM; re-placing down the chain` }, "warn");
    return inst.key;
  }

  /**
   * A GPU instance ran out of memory while synthesising: it needed more than it had on its card
   * (what it held plus what was free there), or at least what the engine says it needed.
   * Recorded per engine, as an absolute figure: a card with that much free (or more, once
   * others release memory) is fine again; the same card, with any other profile, is not.
   */
  private recordPeak(inst: Instance, neededMb: number | undefined): number | undefined {
    const gpu = this.devices.find((d) => d.id === inst.gpu);
    if (!gpu) return undefined;
    const had = inst.vramMb + inst.tokensMb + Math.max(0, freeMb(gpu, heldOn(gpu, this.instances.values())));
    const peak = Math.round(Math.max(had + 1, neededMb ?? 0, this.peakNeeds.get(inst.engineId) ?? 0));
    this.peakNeeds.set(inst.engineId, peak);
    return peak;
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

  /** The pipeline resumed a request after its engine's worker died or hung (decision `fallback`). */
  noteResume(engineId: string, profile: string, detail: string, requested?: string, cause: "crash" | "hang" = "crash"): void {
    this.metrics.fallbacks.inc({ requested: requested ?? engineId, engine: engineId, profile });
    this.decision("fallback", cause === "hang" ? "resumed_after_hang" : "resumed_after_crash", { engine: engineId, profile, requested: requested !== engineId ? requested : undefined, detail }, "warn");
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

  /**
   * A profile to place an engine on first (AllTalk's DeepSpeed toggle), or none: instances on
   * other profiles (on, or that profile's when switched off) retire after their requests.
   */
  async setPreferredProfile(engineId: string, profile: string | undefined): Promise<void> {
    const before = this.preferred.get(engineId);
    if (profile === undefined) this.preferred.delete(engineId);
    else this.preferred.set(engineId, profile);
    const idle: Promise<void>[] = [];
    for (const inst of this.instancesOf(engineId)) {
      if (profile !== undefined ? inst.profile === profile : inst.profile !== before) continue;
      inst.retiring = "profile_switch";
      // Idle ones unload now (resolved once their memory is back), so the next request finds room; busy ones after they drain.
      if (inst.state === "ready" && inst.inFlight === 0) idle.push(this.unloadInstance(inst, "profile_switch", "unload"));
      else this.armExpiry(inst);
    }
    await Promise.all(idle);
  }

  preferredProfile(engineId: string): string | undefined {
    return this.preferred.get(engineId);
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
    const training = this.training.list();
    return {
      gpu: this.gpuStatus,
      devices: this.devices.map((d) => ({
        id: d.id, kind: d.kind, name: d.name, simulated: d.simulated, totalMb: d.totalMb, freeMb: Math.round(d.lastFreeMb), readAt: iso(d.readAt),
        heldByOthersMb: Math.round(d.othersMb), reserveMb: d.reserveMb,
        holdings: list.filter((i) => (d.kind === "cpu" ? i.ramMb > 0 : i.gpu === d.id)).map((i) => ({
          engine: i.engineId, profile: i.profile, residentMb: d.kind === "cpu" ? i.ramMb : i.vramMb, transientMb: d.kind === "cpu" ? 0 : i.tokensMb,
        })).concat(training.filter((t) => t.device === d.id).map((t) => ({ engine: `finetune:${t.job}`, profile: "training", residentMb: t.memoryMb, transientMb: 0, job: t.job, state: t.state }))),
      })),
      engines: list.map((i) => ({
        engine: i.engineId, profile: i.profile, device: i.gpu ?? "cpu", state: i.retiring && i.state === "ready" ? "draining" : i.state,
        generation: i.generation, stale: i.generation !== this.catalog.get(i.engineId)?.generation, retiring: i.retiring ?? null,
        inFlight: i.inFlight, queued: queuedBy.get(i.engineId) ?? 0, pinned: this.pins.has(i.engineId), lowVram: this.lowVram.has(i.engineId),
        keepAliveSeconds: this.keepAliveSeconds(i), lastUsed: iso(i.lastUsed), unloadAt: iso(i.expiresAt),
      })),
      queue: { length: this.queue.size, max: this.config.queueSize, byEngine: Object.fromEntries(queuedBy) },
      pinned: [...this.pins], lowVram: [...this.lowVram], keepAlive: Object.fromEntries(this.keepAlive),
      peakNeedsMb: Object.fromEntries(this.peakNeeds), ramNeedsMb: this.ramNeeds.list(), preferredProfiles: Object.fromEntries(this.preferred),
      cooldowns: this.cooldowns.list(now),
      training,
      decisions: this.decisions.list(decisions),
    };
  }
}
