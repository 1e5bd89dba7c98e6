/** The seams of the scheduler (engine catalogue, loader) and its per-instance state. */
import type { DeviceInfo, Manifest, PlacementProfile } from "../../packages/sdk/src/index.ts";
import type { Reason } from "./decisions.ts";
import type { Holding } from "./fit.ts";
import type { LeasedEngine } from "./lease.ts";

/** Where manifests and generations come from (the Registry in production). */
export interface EngineCatalog {
  manifest(id: string): Manifest | undefined;
  get(id: string): { generation: number; status: string; error?: string } | undefined;
  /** False for a profile that cannot run here (see `PlacementProfile.requires`); all are offered without it. */
  profileOffered?(id: string, profile: PlacementProfile): boolean;
}

/** A loaded engine instance as the loader hands it over (an EngineHost in production). */
export interface LoadedEngine extends LeasedEngine {
  unload(): Promise<void>;
  /** The engine's own health check (`Engine.health`; `{ok: true}` when it has none). */
  health(): Promise<{ ok: boolean; detail?: string }>;
  terminate(): Promise<void>;
  /** Called if the instance dies on its own (worker crash). */
  onExit(listener: (code: number | null) => void): void;
  /** Called when one of its copies (`parallelism: "replicas"`) is gone for good while the others serve on. */
  onDegraded?(listener: (reason: string) => void): void;
  /** Called when the engine reports the memory it holds (protocol `memory`). */
  onMemory?(listener: (report: { vramMb?: number; ramMb?: number }) => void): void;
}

export interface EngineLoader {
  /**
   * Starts and loads an engine on `device` (its LoadContext.device: a GPU profile on a simulated
   * card runs its CPU path); throws OutOfMemoryError when the device lacks memory.
   */
  load(engineId: string, profile: PlacementProfile, options: { device: DeviceInfo; replicas?: number }): Promise<LoadedEngine>;
}

export type InstanceState = "loading" | "ready" | "unloading";

export interface Instance extends Holding {
  id: number;
  key: string;
  spec: PlacementProfile;
  generation: number;
  state: InstanceState;
  inFlight: number;
  lastUsed: number;
  loadedAt: number;
  /** Copies of the engine it runs (`parallelism: "replicas"`, replicas.ts); `ramMb` counts them all. */
  replicas?: number;
  /** Set when the instance takes no new leases and unloads once drained. */
  retiring?: Reason;
  /** What the unload's record says about why it retired (e.g. which copy gave up). */
  retiringDetail?: string;
  host?: LoadedEngine;
  /** The manifest this instance was loaded from, and where it runs: handed to its leases. */
  manifest?: Manifest;
  device: DeviceInfo;
  /** Why earlier profiles in the chain were passed over when this one was loaded. */
  note?: string;
  /** Keep-alive asked for by the last request, seconds. */
  keepAliveOverride?: number;
  expiresAt?: number;
  /** The waiter whose request caused this load: it is handed the instance before any expiry. */
  reservedFor?: number;
  cancelExpiry?: () => void;
}
