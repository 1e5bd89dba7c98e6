/**
 * The loader carries out what placement decided, on the instance table: loads (one at a time,
 * after the evictions they need and a fresh reading), evictions, unloads that wait for memory
 * to come back, keep-alive expiry and retiring. It tells the scheduler when state changed
 * (`changed`), so the queue re-decides; it never decides itself.
 */
import type { Logger } from "pino";
import type { SchedulerConfig } from "../config/schema.ts";
import { OutOfMemoryError, type DeviceInfo } from "../../packages/sdk/src/index.ts";
import type { Candidate } from "./chain.ts";
import { sleep, type Clock } from "./clock.ts";
import type { Cooldowns } from "./cooldown.ts";
import type { Action, Reason, RecordDecision } from "./decisions.ts";
import type { Device } from "./devices.ts";
import type { EngineControls } from "./controls.ts";
import type { Footprints } from "./footprints.ts";
import type { InstanceTable } from "./instances.ts";
import { expiryDelayMs } from "./keep-alive.ts";
import type { SchedulerMetrics } from "./metrics.ts";
import { usable, type Placement } from "./placement.ts";
import { copiesThatFit } from "./replicas.ts";
import type { EngineCatalog, EngineLoader, Instance } from "./types.ts";

export interface InstanceLoaderDeps {
  config: SchedulerConfig;
  catalog: EngineCatalog;
  /** Starts engines (the registry in production). */
  engines: EngineLoader;
  clock: Clock;
  log: Logger;
  table: InstanceTable;
  footprints: Footprints;
  controls: EngineControls;
  cooldowns: Cooldowns;
  metrics: SchedulerMetrics;
  record: RecordDecision;
  /** State changed (a load ended, an instance went): re-decide for the queue. */
  changed(): void;
}

export class InstanceLoader {
  private running: Promise<void> | undefined;

  constructor(private readonly deps: InstanceLoaderDeps) {}

  /** A load (or the evictions before it) is in progress: other loads wait. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Resolves when the load or eviction in progress has ended (server shutdown). */
  async settled(): Promise<void> {
    await this.running?.catch(() => {});
  }

  /** Runs a load placement: evictions, a fresh reading, then the load. One at a time. */
  load(p: Extract<Placement, { kind: "load" }>, waiter?: number): void {
    let loaded: Instance | undefined;
    this.running = this.runLoad(p, waiter)
      .then((inst) => void (loaded = inst))
      .finally(() => {
        this.running = undefined;
        // the waiters get the new instance first; only then may its keep-alive (0: at once) run
        this.deps.changed();
        if (loaded) {
          loaded.reservedFor = undefined;
          this.armExpiry(loaded);
        }
      });
  }

  /** Evicts idle engines so that a loaded one gets memory for its next request. */
  evict(p: Extract<Placement, { kind: "evict" }>): void {
    this.running = (async () => {
      for (const v of p.victims) await this.unload(v, "evicted", "evict", `request memory for ${p.candidate.key}`);
    })().finally(() => {
      this.running = undefined;
      this.deps.changed();
    });
  }

  /** Starts the idle timer (when nothing is in flight). */
  armExpiry(inst: Instance): void {
    inst.cancelExpiry?.();
    inst.cancelExpiry = inst.expiresAt = undefined;
    if (inst.state !== "ready" || inst.inFlight > 0 || inst.reservedFor !== undefined) return;
    if (inst.retiring || !usable(inst, { generation: (id) => this.deps.catalog.get(id)?.generation })) {
      void this.unload(inst, inst.retiring ?? "stale_generation", "unload");
      return;
    }
    const delay = expiryDelayMs(this.deps.controls.keepAliveSeconds(inst), this.deps.controls.pinned(inst.engineId));
    if (delay === undefined) return;
    if (delay === 0) {
      void this.unload(inst, "keep_alive_expired", "unload");
      return;
    }
    inst.expiresAt = this.deps.clock.now() + delay;
    inst.cancelExpiry = this.deps.clock.timer(delay, () => void this.unload(inst, "keep_alive_expired", "unload"));
  }

  /** No new leases for `inst`; it unloads once drained (recorded then, once, with `detail`). */
  retire(inst: Instance, reason: Instance["retiring"], detail?: string): void {
    inst.retiring = reason;
    inst.retiringDetail = detail;
    this.armExpiry(inst);
  }

  /** Unloads an idle instance; on a real GPU waits until most of its memory is back. */
  async unload(inst: Instance, reason: Reason, action: Action, detail?: string): Promise<void> {
    const { table } = this.deps;
    if (inst.state === "unloading" || !table.holds(inst) || inst.inFlight > 0) return;
    inst.state = "unloading";
    inst.cancelExpiry?.();
    this.deps.metrics.evictions.inc({ engine: inst.engineId, reason });
    detail ??= reason === inst.retiring ? inst.retiringDetail : undefined;
    this.deps.record(action, reason, { engine: inst.engineId, profile: inst.profile, device: inst.gpu ?? "cpu", detail });
    const gpu = table.device(inst.gpu);
    const before = gpu && !gpu.simulated ? await table.readFree(gpu) : undefined;
    await inst.host?.unload().catch((err: Error) => this.deps.log.warn({ engine: inst.engineId, err: err.message }, "engine unload failed"));
    await inst.host?.terminate().catch(() => {});
    if (gpu && before !== undefined) await this.waitForRelease(inst, gpu, before);
    table.remove(inst);
    if (gpu && !gpu.simulated) await table.refresh();
    this.deps.changed();
  }

  private async runLoad(p: Extract<Placement, { kind: "load" }>, waiter?: number): Promise<Instance | undefined> {
    const { table, footprints, clock, record } = this.deps;
    const c = p.candidate;
    for (const v of p.victims) await this.unload(v, "evicted", "evict", `for ${c.key}`);
    await table.refresh();
    const vram = footprints.of(c);
    const ramFree = table.freeOn(table.cpu);
    // the copies placement planned (fitted to the free RAM), fewer if less is free after the fresh reading
    const replicas = copiesThatFit(p.replicas ?? 1, footprints.ramNeedMb(c, 1), ramFree);
    const need = footprints.loadNeed(c, replicas);
    const gpu = p.gpu ? table.device(p.gpu.id) : undefined;
    const gpuFree = gpu ? table.freeOn(gpu) : Infinity;
    if (need.gpuMb > gpuFree || need.ramMb > ramFree) {
      record(
        "load",
        "no_longer_fits",
        {
          engine: c.engineId,
          profile: c.profile.name,
          device: gpu?.id ?? "cpu",
          detail: `needs ${need.gpuMb} MB GPU / ${need.ramMb} MB RAM; free ${Math.round(gpuFree)} / ${Math.round(ramFree)}`,
        },
        "warn",
      );
      return;
    }
    const generation = this.deps.catalog.get(c.engineId)?.generation ?? 0;
    // Where it runs, built once: the engine's LoadContext.device (through the registry) and its leases' `device` (lease.ts).
    const device: DeviceInfo = gpu ? { kind: "cuda", index: gpu.index, simulated: gpu.simulated } : { kind: "cpu", index: 0, simulated: false };
    const inst: Instance = {
      id: table.newId(),
      key: c.key,
      engineId: c.engineId,
      profile: c.profile.name,
      spec: c.profile,
      generation,
      gpu: gpu?.id,
      vramMb: gpu ? vram : 0,
      tokensMb: 0,
      ramMb: need.ramMb,
      replicas,
      state: "loading",
      inFlight: 0,
      lastUsed: clock.now(),
      loadedAt: clock.now(),
      note: p.misses[0],
      reservedFor: waiter,
      manifest: this.deps.catalog.manifest(c.engineId),
      device,
    };
    table.add(inst);
    const freeBefore = gpu?.lastFreeMb ?? 0;
    record("load", p.reason, {
      engine: c.engineId,
      profile: c.profile.name,
      device: gpu?.id ?? "cpu",
      detail: `${need.gpuMb} MB GPU + ${need.ramMb} MB RAM${replicas > 1 ? ` (${replicas} replicas x ${Math.round(need.ramMb / replicas)} MB)` : ""}; expect ${c.profile.loadSeconds} s`,
    });
    try {
      const host = await this.deps.engines.load(c.engineId, c.profile, { device, replicas });
      inst.host = host;
      inst.state = "ready";
      inst.loadedAt = inst.lastUsed = clock.now();
      host.onExit((code) => this.onExit(inst, code));
      host.onDegraded?.((why) => this.degraded(inst, why));
      host.onMemory?.((report) => footprints.reported(inst, report.vramMb));
      this.deps.cooldowns.clear(c.key);
      this.deps.metrics.loads.inc({ engine: c.engineId, profile: c.profile.name, result: "ok" });
      record("load", "loaded", { engine: c.engineId, profile: c.profile.name, device: gpu?.id ?? "cpu" }, "debug");
      if (gpu && !gpu.simulated) await this.learn(inst, gpu, freeBefore);
      return inst;
    } catch (err) {
      table.remove(inst);
      this.loadFailed(c, err, vram);
      return undefined;
    }
  }

  /** After a load on a real GPU: a fresh reading shows what the engine took. */
  private async learn(inst: Instance, gpu: Device, freeBefore: number): Promise<void> {
    await this.deps.table.refresh();
    this.deps.footprints.measuredAtLoad(inst, gpu, freeBefore - gpu.lastFreeMb);
  }

  private loadFailed(c: Candidate, err: unknown, vram: number): void {
    const { metrics } = this.deps;
    const message = (err as Error)?.message ?? String(err);
    const ms = this.deps.cooldowns.fail(c.key, this.deps.clock.now(), message);
    const oom = err instanceof OutOfMemoryError || (err as { code?: string })?.code === "ENGINE_OUT_OF_MEMORY";
    if (oom) this.deps.footprints.afterLoadOom(c, (err as OutOfMemoryError).neededMb, vram);
    metrics.loads.inc({ engine: c.engineId, profile: c.profile.name, result: oom ? "oom" : "failed" });
    if (oom) metrics.ooms.inc({ engine: c.engineId, profile: c.profile.name, phase: "load" });
    this.deps.record(
      oom ? "oom" : "cooldown",
      oom ? "oom_load" : "load_failed",
      { engine: c.engineId, profile: c.profile.name, detail: `${message}; skipped for ${Math.round(ms / 1000)} s` },
      "warn",
    );
  }

  private onExit(inst: Instance, code: number | null): void {
    if (!this.deps.table.holds(inst) || inst.state === "unloading") return;
    inst.cancelExpiry?.();
    this.deps.table.remove(inst);
    this.deps.record("unload", "worker_exit", { engine: inst.engineId, profile: inst.profile, detail: `code ${code}` }, "warn");
    this.deps.changed();
  }

  /**
   * A copy gave up while others serve: no new leases; the running ones finish; the next request
   * loads a fresh instance. One `unload` record, when it unloads (GET /api/scheduler shows it
   * `retiring` meanwhile; the registry logs the copy's end at once).
   */
  private degraded(inst: Instance, why: string): void {
    if (!this.deps.table.holds(inst) || inst.state !== "ready") return;
    this.retire(inst, "replica_gave_up", why);
    this.deps.changed();
  }

  /** Polls free memory until `release.fraction` of the instance's VRAM is back, or the timeout. */
  private async waitForRelease(inst: Instance, gpu: Device, before: number): Promise<void> {
    const { pollMs, timeoutMs, fraction } = this.deps.config.release;
    const deadline = this.deps.clock.now() + timeoutMs;
    for (;;) {
      const free = await this.deps.table.readFree(gpu);
      if (free === undefined || free >= before + fraction * inst.vramMb) return;
      if (this.deps.clock.now() >= deadline) {
        this.deps.record(
          "unload",
          "memory_not_returned",
          {
            engine: inst.engineId,
            profile: inst.profile,
            device: gpu.id,
            detail: `free ${free} MB, expected >= ${Math.round(before + fraction * inst.vramMb)} MB after ${timeoutMs} ms`,
          },
          "warn",
        );
        return;
      }
      await sleep(this.deps.clock, pollMs);
    }
  }
}
