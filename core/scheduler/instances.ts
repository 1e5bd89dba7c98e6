/**
 * The instance table: the engine instances the scheduler has loaded (or is loading or
 * unloading) and the devices they hold memory on, with the readings that say how much of
 * each device others use. The only state placement decides on; nothing here decides.
 */
import type { Logger } from "pino";
import type { SchedulerConfig } from "../config/schema.ts";
import type { Clock } from "./clock.ts";
import { cpuDevice, gpuFromReading, simulatedGpus, type Device, type GpuProbe } from "./devices.ts";
import { freeMb, heldOn } from "./fit.ts";
import type { SchedulerMetrics } from "./metrics.ts";
import type { Instance } from "./types.ts";

export interface InstanceTableDeps {
  config: SchedulerConfig;
  probe: GpuProbe;
  clock: Clock;
  log: Logger;
  metrics: SchedulerMetrics;
}

export class InstanceTable {
  /** CPU first, then GPUs (simulated from the config, or as nvidia-smi lists them). */
  readonly devices: Device[];
  /** Whether GPU readings work, and why not. */
  gpuStatus: { ok: boolean; reason?: string } = { ok: true };
  private readonly byId = new Map<number, Instance>();
  private readonly othersSeen = new Map<string, { at: number; mb: number }[]>();
  private nextInstance = 1;

  constructor(private readonly deps: InstanceTableDeps) {
    this.devices = [cpuDevice(deps.config), ...simulatedGpus(deps.config)];
  }

  /** A fresh instance id. */
  newId(): number {
    return this.nextInstance++;
  }

  add(inst: Instance): void {
    this.byId.set(inst.id, inst);
    this.deps.metrics.loaded.set(this.byId.size);
  }

  remove(inst: Instance): void {
    this.byId.delete(inst.id);
    this.deps.metrics.loaded.set(this.byId.size);
  }

  /** Is `inst` (this very object) still in the table? */
  holds(inst: Instance): boolean {
    return this.byId.get(inst.id) === inst;
  }

  get size(): number {
    return this.byId.size;
  }

  values(): IterableIterator<Instance> {
    return this.byId.values();
  }

  list(): Instance[] {
    return [...this.byId.values()];
  }

  /** An engine's instances that are not on their way out. */
  of(engineId: string): Instance[] {
    return this.list().filter((i) => i.engineId === engineId && i.state !== "unloading");
  }

  device(id: string | undefined): Device | undefined {
    return this.devices.find((d) => d.id === id);
  }

  get cpu(): Device {
    return this.devices[0]!;
  }

  /** Memory Chorus may still allocate on `device` now. */
  freeOn(device: Device): number {
    return freeMb(device, heldOn(device, this.byId.values()));
  }

  /** True when no device needs reading (the CPU and simulated GPUs are accounted, not read). */
  nothingToRead(): boolean {
    return this.devices.every((d) => d.kind === "cpu" || d.simulated);
  }

  /** Re-reads free memory (before each load; other processes change it). */
  async refresh(): Promise<void> {
    const now = this.deps.clock.now();
    const simulated = this.devices.some((d) => d.simulated);
    if (!simulated) {
      const result = await this.deps.probe.read();
      if (result.ok) {
        this.gpuStatus = { ok: true };
        for (const r of result.gpus) {
          let dev = this.devices.find((d) => d.kind === "cuda" && d.index === r.index);
          if (!dev) this.devices.push((dev = gpuFromReading(r, this.deps.config)));
          dev.othersMb = this.othersPeak(dev.id, Math.max(0, r.usedMb - heldOn(dev, this.byId.values())), now);
          dev.lastFreeMb = r.freeMb;
          dev.readAt = now;
        }
      } else if (this.gpuStatus.ok || this.gpuStatus.reason !== result.reason) {
        this.gpuStatus = { ok: false, reason: result.reason };
        // No driver at all is the normal case on a CPU machine; a driver that fails is worth a warning.
        const level = /not found/.test(result.reason) ? "info" : "warn";
        this.deps.log[level]({ reason: "no_gpu", detail: result.reason }, "no usable GPU data; carrying on with the CPU");
      }
    }
    for (const dev of this.devices) {
      if (dev.kind === "cpu" || dev.simulated) {
        dev.lastFreeMb = dev.totalMb - dev.othersMb - heldOn(dev, this.byId.values());
        dev.readAt = now;
      }
    }
  }

  /** The driver's free memory on a real GPU now (undefined when it cannot be read). */
  async readFree(gpu: Device): Promise<number | undefined> {
    const r = await this.deps.probe.read();
    return r.ok ? r.gpus.find((g) => g.index === gpu.index)?.freeMb : undefined;
  }

  /**
   * Others' share as the highest reading of the last `othersPeakSeconds`: a process that grew
   * a moment ago (a desktop LLM's cache) may grow again while an engine loads.
   */
  private othersPeak(deviceId: string, mb: number, now: number): number {
    const windowMs = this.deps.config.othersPeakSeconds * 1000;
    const seen = (this.othersSeen.get(deviceId) ?? []).filter((s) => now - s.at < windowMs);
    seen.push({ at: now, mb });
    this.othersSeen.set(deviceId, seen);
    return Math.max(...seen.map((s) => s.mb));
  }
}
