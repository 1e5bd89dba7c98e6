/**
 * The per-engine settings an operator changes at run time (API / CLI), seeded from
 * `scheduler.engines`: pins, low-VRAM mode, keep-alive overrides and a preferred profile.
 * State only; the facade (scheduler.ts) applies a change to the loaded instances.
 */
import type { SchedulerConfig } from "../config/schema.ts";
import { resolveKeepAlive } from "./keep-alive.ts";
import type { Instance } from "./types.ts";

export class EngineControls {
  private readonly pins = new Set<string>();
  private readonly lowVram = new Set<string>();
  private readonly keepAlive = new Map<string, number>();
  private readonly preferred = new Map<string, string>();

  constructor(private readonly config: SchedulerConfig) {
    for (const [id, e] of Object.entries(config.engines)) {
      if (e.pinned) this.pins.add(id);
      if (e.lowVram) this.lowVram.add(id);
    }
  }

  pinned(engineId: string): boolean {
    return this.pins.has(engineId);
  }

  setPinned(engineId: string, on: boolean): void {
    if (on) this.pins.add(engineId);
    else this.pins.delete(engineId);
  }

  isLowVram(engineId: string): boolean {
    return this.lowVram.has(engineId);
  }

  setLowVram(engineId: string, on: boolean): void {
    if (on) this.lowVram.add(engineId);
    else this.lowVram.delete(engineId);
  }

  /** Runtime keep-alive for an engine; undefined goes back to the config's. */
  setKeepAlive(engineId: string, seconds: number | undefined): void {
    if (seconds === undefined) this.keepAlive.delete(engineId);
    else this.keepAlive.set(engineId, seconds);
  }

  /** How long `inst` stays loaded when idle: its last request's, the engine's, or the global keep-alive. */
  keepAliveSeconds(inst: Instance): number {
    return resolveKeepAlive({
      request: inst.keepAliveOverride,
      engine: this.keepAlive.get(inst.engineId) ?? this.config.engines[inst.engineId]?.keepAliveSeconds,
      global: this.config.keepAliveSeconds,
    });
  }

  preferredProfile(engineId: string): string | undefined {
    return this.preferred.get(engineId);
  }

  setPreferredProfile(engineId: string, profile: string | undefined): void {
    if (profile === undefined) this.preferred.delete(engineId);
    else this.preferred.set(engineId, profile);
  }

  /** The parts of GET /api/scheduler these settings make. */
  snapshot() {
    return {
      pinned: [...this.pins],
      lowVram: [...this.lowVram],
      keepAlive: Object.fromEntries(this.keepAlive),
      preferredProfiles: Object.fromEntries(this.preferred),
    };
  }
}
