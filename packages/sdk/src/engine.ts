/**
 * The engine contract. A plugin's entry module default-exports `definePlugin({ create })`;
 * the host calls `create` once per engine instance, inside the engine's own worker thread or
 * child process, then drives the returned `Engine` through the calls below. All calls for one
 * instance are made from one thread; `synthesize` may be called again before an earlier
 * stream has finished only up to the profile's `maxParallel` (with `parallelism: "replicas"`
 * each copy of the engine, in its own worker, gets one request at a time).
 */
import type { Manifest, PlacementProfile } from "./manifest.ts";

/** Mono 16-bit PCM, little-endian when serialised. */
export interface AudioChunk {
  sampleRate: number;
  samples: Int16Array;
  /**
   * The engine hands the samples' memory over: the host may move the array's buffer to itself
   * (a transfer between threads) instead of copying it, which leaves the engine's array empty.
   * Set it only for an array that is its whole ArrayBuffer, at most MAX_CHUNK_BYTES, and never
   * touched again by the engine (`wavChunks` makes such chunks). Without it the host copies,
   * so an engine may reuse its buffers.
   */
  transfer?: boolean;
}

export interface Voice {
  /** Stable id a request passes as `voice`. */
  id: string;
  name: string;
  /** BCP 47-ish language tags, e.g. `en-us`. */
  languages: string[];
  gender?: "male" | "female" | "neutral";
  description?: string;
  /** Speaker names of a multi-speaker voice (a request picks one with the engine's `speaker` option). */
  speakers?: string[];
}

export interface SynthesisRequest {
  /** Text to speak: one sentence when the host splits, the whole text when the engine does. */
  text: string;
  /** A voice id from `listVoices()`, already resolved by the host (never empty). */
  voice: string;
  /**
   * Rate factor, 1.0 = the voice's natural rate (2 = twice as fast). Always 1 unless the
   * manifest declares `capabilities.speed`; within `capabilities.speedRange` when declared.
   */
  speed: number;
  /**
   * Pitch as a frequency factor, 1.0 = the voice's natural pitch (2 = an octave up; semitones
   * s are 2^(s/12)). Always 1 unless the manifest declares `capabilities.pitch`; within
   * `capabilities.pitchRange` when declared. The engine maps it onto its own control.
   */
  pitch: number;
  /** Engine-specific options, validated against the manifest's `options`. */
  options: Record<string, unknown>;
  /**
   * A hint: more of the same client request follows right after this call (the next part of a
   * narrated text, with another voice). An engine that moves its model per request (low-VRAM)
   * may keep it where it is until the call without it.
   */
  continues?: boolean;
}

/** The device the scheduler placed the engine on. */
export interface DeviceInfo {
  kind: "cpu" | "cuda";
  /** The GPU's index (as CUDA numbers them, e.g. `cuda:1` is 1); 0 for the CPU. */
  index: number;
  /** True when the GPU exists only in the scheduler's accounting: run the CPU path. */
  simulated: boolean;
}

/** An engine's own reading of the memory it holds (e.g. `torch.cuda.memory_reserved`). */
export interface MemoryReport {
  vramMb?: number;
  ramMb?: number;
  /** e.g. `cuda:1`. */
  device?: string;
}

export interface LoadContext {
  /** The placement the scheduler chose for this load. */
  profile: PlacementProfile;
  /** Where to load: `device.kind` and `device.index` (use CPU code when `device.simulated`). */
  device: DeviceInfo;
  /** Absolute path of the plugin folder. */
  pluginDir: string;
  /** This engine's settings (`engines.settings.<id>`), validated against the manifest's `settings` schema, defaults applied. */
  settings: Record<string, unknown>;
  /** Writable folder for the engine's caches and temporary files. */
  dataDir: string;
  log: EngineLogger;
  /** Tells the scheduler what the engine really holds (it learns footprints from it). */
  reportMemory(report: MemoryReport): void;
}

export interface EngineLogger {
  debug(msg: string, extra?: Record<string, unknown>): void;
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

export interface EngineHealth {
  ok: boolean;
  detail?: string;
}

export interface Engine {
  /** Load models and warm up. Throw `OutOfMemoryError` when the device lacks memory. */
  load(ctx: LoadContext): Promise<void>;
  /** Release everything `load` took. Called once; the instance is discarded after. */
  unload(): Promise<void>;
  listVoices(): Promise<Voice[]>;
  /**
   * Produce audio for `request`, chunk by chunk as it is made. The host asks for chunks as
   * it consumes them, so the generator is not resumed while the client is not reading.
   * Stop promptly (throw `SynthesisAbortedError`, or just return) when `signal` aborts.
   */
  synthesize(request: SynthesisRequest, signal: AbortSignal): AsyncIterable<AudioChunk>;
  health?(): Promise<EngineHealth>;
}

export interface PluginContext {
  manifest: Manifest;
}

export interface PluginDefinition {
  create(context: PluginContext): Engine | Promise<Engine>;
}

/** Marks a module's default export as a Chorus plugin (and types it). */
export function definePlugin(definition: PluginDefinition): PluginDefinition {
  if (typeof definition?.create !== "function") {
    throw new TypeError("definePlugin: `create` must be a function returning an Engine");
  }
  return definition;
}
