/**
 * Engine instances' lifecycle under the scheduler: device readings, loads (one at a time),
 * unloads with waiting for memory to come back, keep-alive expiry and learned footprints.
 * `SchedulerCore` (core.ts) adds requests, the queue and the controls on top.
 */
import type { Logger } from "pino";
import type { SchedulerConfig } from "../config/schema.ts";
import { OutOfMemoryError } from "../../packages/sdk/src/index.ts";
import { profileKey, type Candidate } from "./chain.ts";
import { sleep, type Clock } from "./clock.ts";
import { Cooldowns } from "./cooldown.ts";
import { DecisionLog, REASONS, type Action, type Decision, type Reason } from "./decisions.ts";
import { cpuDevice, gpuFromReading, simulatedGpus, type Device, type GpuProbe } from "./devices.ts";
import { boundLearned, footprint, freeMb, heldOn, loadNeed } from "./fit.ts";
import { expiryDelayMs, resolveKeepAlive } from "./keep-alive.ts";
import { SchedulerMetrics } from "./metrics.ts";
import { usable, type Placement, type PlacementView } from "./placement.ts";
import type { EngineCatalog, EngineLoader, Instance } from "./types.ts";
import { RamNeeds } from "./ram-needs.ts";

export interface SchedulerDeps {
  config: SchedulerConfig;
  catalog: EngineCatalog;
  loader: EngineLoader;
  probe: GpuProbe;
  clock: Clock;
  log: Logger;
}

export abstract class EngineLifecycle {
  protected readonly config: SchedulerConfig;
  protected readonly catalog: EngineCatalog;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  readonly metrics = new SchedulerMetrics();
  readonly decisions: DecisionLog;
  protected readonly instances = new Map<number, Instance>();
  protected devices: Device[];
  protected gpuStatus: { ok: boolean; reason?: string } = { ok: true };
  protected readonly cooldowns: Cooldowns;
  /** Raised or measured resident VRAM per `engine:profile`. */
  protected readonly learned = new Map<string, number>();
  /**
   * Per engine: the VRAM it was shown to need at its peak, recorded when it ran out of memory
   * while synthesising (more than it had, or what the engine said it needed). Every GPU profile
   * of that engine must then fit this much, so the retry is not another profile on the same card.
   */
  protected readonly peakNeeds = new Map<string, number>();
  /** Per `engine:profile`: the RAM it held when the host stopped it past its limit (ram-needs.ts). */
  protected readonly ramNeeds = new RamNeeds();
  protected readonly pins = new Set<string>();
  protected readonly lowVram = new Set<string>();
  protected readonly keepAlive = new Map<string, number>();
  protected loadBusy: Promise<void> | undefined;
  protected readonly started: Promise<void>;
  private nextInstance = 1;

  constructor(protected readonly deps: SchedulerDeps) {
    this.config = deps.config;
    this.catalog = deps.catalog;
    this.clock = deps.clock;
    this.log = deps.log.child({ component: "scheduler" });
    this.decisions = new DecisionLog(this.config.decisionLogSize);
    this.cooldowns = new Cooldowns(this.config.cooldown.initialSeconds * 1000, this.config.cooldown.maxSeconds * 1000);
    this.devices = [cpuDevice(this.config), ...simulatedGpus(this.config)];
    for (const [id, e] of Object.entries(this.config.engines)) {
      if (e.pinned) this.pins.add(id);
      if (e.lowVram) this.lowVram.add(id);
    }
    this.started = this.refresh();
  }

  protected abstract pump(): void;

  /** Why GPU profiles on a device are not offered (SchedulerCore: training leases). */
  protected blockedDevice(_deviceId: string): string | undefined {
    return undefined;
  }

  /** Logs a decision with its reason and keeps it for GET /api/scheduler. */
  protected decision(action: Action, reason: Reason, d: Omit<Decision, "seq" | "at" | "action" | "reason">, level: "info" | "warn" | "debug" = "info"): void {
    const entry = this.decisions.add({ at: new Date(this.clock.now()).toISOString(), action, reason, ...d });
    this.log[level]({ action, reason, engine: d.engine, profile: d.profile, device: d.device, requested: d.requested, detail: d.detail }, `${action} ${d.engine}${d.profile ? `:${d.profile}` : ""}: ${REASONS[reason]}`);
    void entry;
  }

  /** Re-reads free memory (before each load; other processes change it). */
  protected async refresh(): Promise<void> {
    const now = this.clock.now();
    const simulated = this.devices.some((d) => d.simulated);
    if (!simulated) {
      const result = await this.deps.probe.read();
      if (result.ok) {
        this.gpuStatus = { ok: true };
        for (const r of result.gpus) {
          let dev = this.devices.find((d) => d.kind === "cuda" && d.index === r.index);
          if (!dev) this.devices.push((dev = gpuFromReading(r, this.config)));
          dev.othersMb = this.othersPeak(dev.id, Math.max(0, r.usedMb - heldOn(dev, this.instances.values())), now);
          dev.lastFreeMb = r.freeMb;
          dev.readAt = now;
        }
      } else if (this.gpuStatus.ok || this.gpuStatus.reason !== result.reason) {
        this.gpuStatus = { ok: false, reason: result.reason };
        // No driver at all is the normal case on a CPU machine; a driver that fails is worth a warning.
        const level = /not found/.test(result.reason) ? "info" : "warn";
        this.log[level]({ reason: "no_gpu", detail: result.reason }, "no usable GPU data; carrying on with the CPU");
      }
    }
    for (const dev of this.devices) {
      if (dev.kind === "cpu" || dev.simulated) {
        dev.lastFreeMb = dev.totalMb - dev.othersMb - heldOn(dev, this.instances.values());
        dev.readAt = now;
      }
    }
  }

  private readonly othersSeen = new Map<string, { at: number; mb: number }[]>();

  /**
   * Others' share as the highest reading of the last `othersPeakSeconds`: a process that grew
   * a moment ago (a desktop LLM's cache) may grow again while an engine loads.
   */
  private othersPeak(deviceId: string, mb: number, now: number): number {
    const windowMs = this.config.othersPeakSeconds * 1000;
    const seen = (this.othersSeen.get(deviceId) ?? []).filter((s) => now - s.at < windowMs);
    seen.push({ at: now, mb });
    this.othersSeen.set(deviceId, seen);
    return Math.max(...seen.map((s) => s.mb));
  }

  protected footprintOf(c: Pick<Candidate, "key" | "profile">): number {
    return footprint(c.profile, this.learned.get(c.key));
  }

  protected view(): PlacementView {
    return {
      now: this.clock.now(),
      devices: this.devices,
      instances: [...this.instances.values()],
      loadBusy: this.loadBusy !== undefined,
      maxLoaded: this.config.maxLoaded,
      pinned: (id) => this.pins.has(id),
      cooldownMs: (key) => this.cooldowns.remaining(key, this.clock.now()),
      cooldownError: (key) => this.cooldowns.lastError(key),
      generation: (id) => this.catalog.get(id)?.generation,
      footprint: (c) => this.footprintOf(c),
      blocked: (id) => this.blockedDevice(id),
      peakNeedMb: (id) => this.peakNeeds.get(id),
      ramNeedMb: (c) => this.ramNeedOf(c),
    };
  }

  protected ramNeedOf(c: Pick<Candidate, "key" | "engineId" | "profile">): number {
    return this.ramNeeds.need(c.key, this.catalog.get(c.engineId)?.generation, c.profile);
  }

  /** Runs a load placement: evictions, a fresh reading, then the load. One at a time. */
  protected execute(p: Extract<Placement, { kind: "load" }>, waiter?: number): void {
    let loaded: Instance | undefined;
    this.loadBusy = this.runLoad(p, waiter)
      .then((inst) => void (loaded = inst))
      .finally(() => {
        this.loadBusy = undefined;
        // the waiters get the new instance first; only then may its keep-alive (0: at once) run
        this.pump();
        if (loaded) {
          loaded.reservedFor = undefined;
          this.armExpiry(loaded);
        }
      });
  }

  /** Evicts idle engines so that a loaded one gets memory for its next request. */
  protected executeEvict(p: Extract<Placement, { kind: "evict" }>): void {
    this.loadBusy = (async () => {
      for (const v of p.victims) await this.unloadInstance(v, "evicted", "evict", `request memory for ${p.candidate.key}`);
    })().finally(() => {
      this.loadBusy = undefined;
      this.pump();
    });
  }

  private async runLoad(p: Extract<Placement, { kind: "load" }>, waiter?: number): Promise<Instance | undefined> {
    const c = p.candidate;
    for (const v of p.victims) await this.unloadInstance(v, "evicted", "evict", `for ${c.key}`);
    await this.refresh();
    const vram = this.footprintOf(c);
    const need = { ...loadNeed(c.profile, vram), ramMb: this.ramNeedOf(c) };
    if (c.profile.device === "cuda") need.gpuMb = Math.max(need.gpuMb, this.peakNeeds.get(c.engineId) ?? 0);
    const cpu = this.devices[0]!;
    const gpu = p.gpu ? this.devices.find((d) => d.id === p.gpu!.id) : undefined;
    const gpuFree = gpu ? freeMb(gpu, heldOn(gpu, this.instances.values())) : Infinity;
    const ramFree = freeMb(cpu, heldOn(cpu, this.instances.values()));
    if (need.gpuMb > gpuFree || need.ramMb > ramFree) {
      this.decision("load", "no_longer_fits", { engine: c.engineId, profile: c.profile.name, device: gpu?.id ?? "cpu", detail: `needs ${need.gpuMb} MB GPU / ${need.ramMb} MB RAM; free ${Math.round(gpuFree)} / ${Math.round(ramFree)}` }, "warn");
      return;
    }
    const generation = this.catalog.get(c.engineId)?.generation ?? 0;
    const inst: Instance = {
      id: this.nextInstance++, key: c.key, engineId: c.engineId, profile: c.profile.name, spec: c.profile, generation,
      gpu: gpu?.id, vramMb: gpu ? vram : 0, tokensMb: 0, ramMb: need.ramMb,
      state: "loading", inFlight: 0, lastUsed: this.clock.now(), loadedAt: this.clock.now(), note: p.misses[0], reservedFor: waiter,
    };
    this.instances.set(inst.id, inst);
    this.metrics.loaded.set(this.instances.size);
    const freeBefore = gpu?.lastFreeMb ?? 0;
    this.decision("load", p.reason, { engine: c.engineId, profile: c.profile.name, device: gpu?.id ?? "cpu", detail: `${need.gpuMb} MB GPU + ${need.ramMb} MB RAM; expect ${c.profile.loadSeconds} s` });
    try {
      const host = await this.deps.loader.load(c.engineId, c.profile, { simulated: gpu?.simulated ?? false, gpuIndex: gpu?.index });
      inst.host = host;
      inst.state = "ready";
      inst.loadedAt = inst.lastUsed = this.clock.now();
      host.onExit((code) => this.onExit(inst, code));
      host.onMemory?.((report) => this.reported(inst, report.vramMb));
      this.cooldowns.clear(c.key);
      this.metrics.loads.inc({ engine: c.engineId, profile: c.profile.name, result: "ok" });
      this.decision("load", "loaded", { engine: c.engineId, profile: c.profile.name, device: gpu?.id ?? "cpu" }, "debug");
      if (gpu && !gpu.simulated) await this.learn(inst, gpu, freeBefore);
      return inst;
    } catch (err) {
      this.instances.delete(inst.id);
      this.metrics.loaded.set(this.instances.size);
      this.loadFailed(c, err, vram);
      return undefined;
    }
  }

  private loadFailed(c: Candidate, err: unknown, vram: number): void {
    const message = (err as Error)?.message ?? String(err);
    const ms = this.cooldowns.fail(c.key, this.clock.now(), message);
    const oom = err instanceof OutOfMemoryError || (err as { code?: string })?.code === "ENGINE_OUT_OF_MEMORY";
    if (oom) this.raiseNeed(c, (err as OutOfMemoryError).neededMb, vram);
    this.metrics.loads.inc({ engine: c.engineId, profile: c.profile.name, result: oom ? "oom" : "failed" });
    if (oom) this.metrics.ooms.inc({ engine: c.engineId, profile: c.profile.name, phase: "load" });
    this.decision(oom ? "oom" : "cooldown", oom ? "oom_load" : "load_failed", { engine: c.engineId, profile: c.profile.name, detail: `${message}; skipped for ${Math.round(ms / 1000)} s` }, "warn");
  }

  /** Records a higher memory need for a profile after an out-of-memory report. */
  protected raiseNeed(c: Pick<Candidate, "key" | "profile">, neededMb: number | undefined, current: number): void {
    if (c.profile.device !== "cuda") return;
    const total = neededMb ?? Math.round((current + c.profile.transientVramMb) * 1.25);
    const vram = Math.max(current, Math.round(total - c.profile.transientVramMb), current + 1);
    this.learned.set(c.key, vram);
  }

  /** After a load on a real GPU the measured change in used memory replaces the estimate. */
  private async learn(inst: Instance, gpu: Device, freeBefore: number): Promise<void> {
    await this.refresh();
    const measured = freeBefore - gpu.lastFreeMb;
    if (measured <= 0) return;
    const bounded = Math.round(boundLearned(inst.spec.vramMb, measured));
    if (Math.abs(bounded - inst.vramMb) < 16) return;
    gpu.othersMb = Math.max(0, gpu.othersMb - (bounded - inst.vramMb));
    this.decision("learn", "learned_footprint", { engine: inst.engineId, profile: inst.profile, device: gpu.id, detail: `declared ${inst.spec.vramMb} MB, measured ${measured} MB, using ${bounded} MB` });
    inst.vramMb = bounded;
    this.learned.set(inst.key, bounded);
  }

  /** The engine's own reading of its GPU memory (protocol `memory`) replaces the estimate. */
  private reported(inst: Instance, vramMb: number | undefined): void {
    const gpu = this.devices.find((d) => d.id === inst.gpu);
    if (!gpu || vramMb === undefined || !(vramMb >= 0) || this.instances.get(inst.id) !== inst) return;
    const bounded = Math.round(boundLearned(inst.spec.vramMb, vramMb));
    if (Math.abs(bounded - inst.vramMb) < 16) return;
    this.decision("learn", "learned_footprint", { engine: inst.engineId, profile: inst.profile, device: gpu.id, detail: `declared ${inst.spec.vramMb} MB, the engine reports ${vramMb} MB, using ${bounded} MB` });
    inst.vramMb = bounded;
    this.learned.set(inst.key, bounded);
  }

  private onExit(inst: Instance, code: number | null): void {
    if (this.instances.get(inst.id) !== inst || inst.state === "unloading") return;
    inst.cancelExpiry?.();
    this.instances.delete(inst.id);
    this.metrics.loaded.set(this.instances.size);
    this.decision("unload", "worker_exit", { engine: inst.engineId, profile: inst.profile, detail: `code ${code}` }, "warn");
    this.pump();
  }

  protected keepAliveSeconds(inst: Instance): number {
    return resolveKeepAlive({ request: inst.keepAliveOverride, engine: this.keepAlive.get(inst.engineId) ?? this.config.engines[inst.engineId]?.keepAliveSeconds, global: this.config.keepAliveSeconds });
  }

  /** Starts the idle timer (when nothing is in flight). */
  protected armExpiry(inst: Instance): void {
    inst.cancelExpiry?.();
    inst.cancelExpiry = inst.expiresAt = undefined;
    if (inst.state !== "ready" || inst.inFlight > 0 || inst.reservedFor !== undefined) return;
    if (inst.retiring || !usable(inst, { generation: (id) => this.catalog.get(id)?.generation })) {
      void this.unloadInstance(inst, inst.retiring ?? "stale_generation", "unload");
      return;
    }
    const delay = expiryDelayMs(this.keepAliveSeconds(inst), this.pins.has(inst.engineId));
    if (delay === undefined) return;
    if (delay === 0) {
      void this.unloadInstance(inst, "keep_alive_expired", "unload");
      return;
    }
    inst.expiresAt = this.clock.now() + delay;
    inst.cancelExpiry = this.clock.timer(delay, () => void this.unloadInstance(inst, "keep_alive_expired", "unload"));
  }

  /** Unloads an idle instance; on a real GPU waits until most of its memory is back. */
  protected async unloadInstance(inst: Instance, reason: Reason, action: Action, detail?: string): Promise<void> {
    if (inst.state === "unloading" || this.instances.get(inst.id) !== inst || inst.inFlight > 0) return;
    inst.state = "unloading";
    inst.cancelExpiry?.();
    this.metrics.evictions.inc({ engine: inst.engineId, reason });
    this.decision(action, reason, { engine: inst.engineId, profile: inst.profile, device: inst.gpu ?? "cpu", detail });
    const gpu = this.devices.find((d) => d.id === inst.gpu);
    const before = gpu && !gpu.simulated ? await this.readFree(gpu) : undefined;
    await inst.host?.unload().catch((err: Error) => this.log.warn({ engine: inst.engineId, err: err.message }, "engine unload failed"));
    await inst.host?.terminate().catch(() => {});
    if (gpu && before !== undefined) await this.waitForRelease(inst, gpu, before);
    this.instances.delete(inst.id);
    this.metrics.loaded.set(this.instances.size);
    if (gpu && !gpu.simulated) await this.refresh();
    this.pump();
  }

  private async readFree(gpu: Device): Promise<number | undefined> {
    const r = await this.deps.probe.read();
    return r.ok ? r.gpus.find((g) => g.index === gpu.index)?.freeMb : undefined;
  }

  /** Polls free memory until `release.fraction` of the instance's VRAM is back, or the timeout. */
  private async waitForRelease(inst: Instance, gpu: Device, before: number): Promise<void> {
    const { pollMs, timeoutMs, fraction } = this.config.release;
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      const free = await this.readFree(gpu);
      if (free === undefined || free >= before + fraction * inst.vramMb) return;
      if (this.clock.now() >= deadline) {
        this.decision("unload", "memory_not_returned", { engine: inst.engineId, profile: inst.profile, device: gpu.id, detail: `free ${free} MB, expected >= ${Math.round(before + fraction * inst.vramMb)} MB after ${timeoutMs} ms` }, "warn");
        return;
      }
      await sleep(this.clock, pollMs);
    }
  }

  protected holdingsKey(engineId: string, profile: string): string {
    return profileKey(engineId, profile);
  }
}
