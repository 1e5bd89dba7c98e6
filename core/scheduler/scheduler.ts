/**
 * The resource scheduler: every synthesis runs under a lease it grants. This version places
 * each engine on its first CPU profile, loads it once (concurrent requests share the load),
 * keeps it warm for the keep-alive and unloads the least recently used idle engine when more
 * than `maxLoaded` are loaded.
 */
import type { Logger } from "pino";
import { inject, injectable } from "../di.ts";
import type { Config } from "../config/schema.ts";
import { ChorusError } from "../errors.ts";
import type { EngineHost } from "../registry/engine-host.ts";
import type { Registry } from "../registry/registry.ts";
import type { PlacementProfile } from "../sdk/manifest.ts";
import { TOKENS } from "../tokens.ts";
import type { Lease, LeaseRequest } from "./lease.ts";

interface Resident {
  engineId: string;
  profile: PlacementProfile;
  host: EngineHost;
  inFlight: number;
  lastUsed: number;
  keepAliveSeconds: number;
  timer?: NodeJS.Timeout;
}

export interface ResidentInfo {
  engineId: string;
  profile: string;
  inFlight: number;
  lastUsed: string;
}

@injectable()
export class Scheduler {
  private readonly resident = new Map<string, Resident>();
  private readonly loading = new Map<string, Promise<Resident>>();
  private readonly log: Logger;

  constructor(
    @inject(TOKENS.Config) private readonly config: Config,
    @inject(TOKENS.Registry) private readonly registry: Registry,
    @inject(TOKENS.Logger) log: Logger,
  ) {
    this.log = log.child({ component: "scheduler" });
  }

  async acquire(request: LeaseRequest): Promise<Lease> {
    const manifest = this.registry.manifest(request.engineId);
    if (!manifest) {
      const entry = this.registry.get(request.engineId);
      if (entry) {
        throw new ChorusError("CHORUS_ERR_ENGINE_UNAVAILABLE", `engine '${request.engineId}' is unavailable: ${entry.status === "failed" ? entry.error : "unknown"}`, { field: "engine" });
      }
      throw new ChorusError("CHORUS_ERR_ENGINE_NOT_FOUND", `no engine '${request.engineId}'`, { field: "engine" });
    }
    let resident = this.resident.get(request.engineId);
    if (!resident) {
      let pending = this.loading.get(request.engineId);
      if (!pending) {
        const profile = manifest.resources.profiles.find((p) => p.device === "cpu") ?? manifest.resources.profiles[0]!;
        pending = this.load(request.engineId, profile);
        this.loading.set(request.engineId, pending);
        void pending.finally(() => this.loading.delete(request.engineId)).catch(() => {});
      }
      resident = await abortable(pending, request.signal);
    }
    return this.lease(resident, request.keepAliveSeconds);
  }

  private async load(engineId: string, profile: PlacementProfile): Promise<Resident> {
    await this.makeRoom();
    const started = performance.now();
    let host: EngineHost;
    try {
      host = await this.registry.startEngine(engineId, profile);
    } catch (err) {
      this.log.error({ engine: engineId, profile: profile.name, reason: "load_failed", err }, "engine failed to load");
      throw new ChorusError("CHORUS_ERR_ENGINE_UNAVAILABLE", `engine '${engineId}' failed to load: ${(err as Error).message}`, { field: "engine", cause: err });
    }
    const resident: Resident = { engineId, profile, host, inFlight: 0, lastUsed: Date.now(), keepAliveSeconds: this.config.scheduler.keepAliveSeconds };
    host.once("exit", (code: number | null) => {
      if (this.resident.get(engineId) !== resident) return; // unloaded on purpose
      this.resident.delete(engineId);
      clearTimeout(resident.timer);
      this.log.warn({ engine: engineId, reason: "worker_exit", code }, "engine worker exited unexpectedly");
    });
    this.resident.set(engineId, resident);
    this.log.info({ engine: engineId, profile: profile.name, reason: "loaded", ms: Math.round(performance.now() - started) }, "engine loaded");
    return resident;
  }

  private lease(resident: Resident, keepAliveSeconds?: number): Lease {
    resident.inFlight++;
    clearTimeout(resident.timer);
    if (keepAliveSeconds !== undefined) resident.keepAliveSeconds = keepAliveSeconds;
    let released = false;
    return {
      engineId: resident.engineId,
      profile: resident.profile,
      engine: resident.host,
      release: () => {
        if (released) return;
        released = true;
        resident.inFlight--;
        resident.lastUsed = Date.now();
        if (resident.inFlight === 0) this.armKeepAlive(resident);
      },
    };
  }

  private armKeepAlive(resident: Resident): void {
    if (resident.keepAliveSeconds < 0) return;
    resident.timer = setTimeout(() => void this.unload(resident, "keep_alive_expired"), resident.keepAliveSeconds * 1000);
    resident.timer.unref();
  }

  /** Unloads the least recently used idle engine while the loaded count is at the limit. */
  private async makeRoom(): Promise<void> {
    while (this.resident.size >= this.config.scheduler.maxLoaded) {
      const idle = [...this.resident.values()].filter((r) => r.inFlight === 0).sort((a, b) => a.lastUsed - b.lastUsed);
      if (!idle.length) return;
      await this.unload(idle[0]!, "max_loaded");
    }
  }

  private async unload(resident: Resident, reason: string): Promise<void> {
    if (this.resident.get(resident.engineId) !== resident || resident.inFlight > 0) return;
    this.resident.delete(resident.engineId);
    clearTimeout(resident.timer);
    this.log.info({ engine: resident.engineId, reason }, "engine unloaded");
    await resident.host.unload().catch(() => {});
    await resident.host.terminate();
  }

  residents(): ResidentInfo[] {
    return [...this.resident.values()].map((r) => ({ engineId: r.engineId, profile: r.profile.name, inFlight: r.inFlight, lastUsed: new Date(r.lastUsed).toISOString() }));
  }

  isLoaded(engineId: string): boolean {
    return this.resident.has(engineId);
  }

  /** Unloads everything (server shutdown). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.loading.values()]);
    await Promise.all([...this.resident.values()].map(async (r) => {
      clearTimeout(r.timer);
      this.resident.delete(r.engineId);
      await r.host.terminate();
    }));
  }
}

/** Waits for `promise` unless `signal` aborts first (the promise itself carries on). */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new ChorusError("CHORUS_ERR_REQUEST_INVALID", "request cancelled"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ChorusError("CHORUS_ERR_REQUEST_INVALID", "request cancelled"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
