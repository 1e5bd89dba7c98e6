/**
 * The plugin manifest (`plugin.json`) as the host hands it to a plugin: every field with its
 * default applied. `plugin.schema.json` (in this package) is its JSON Schema for authors and
 * editors; the host validates manifests against the same schema before any plugin code runs.
 */

/** Version of this SDK; a manifest's `sdk` is a semver range that must include it. */
export const SDK_VERSION = "1.0.0";

export type DeviceKind = "cpu" | "cuda";
export type Precision = "fp32" | "fp16" | "bf16" | "int8" | "mixed";

/**
 * One way to run an engine: on which device, at which precision, and what memory it holds.
 * `vramMb` is resident for as long as the engine is loaded; `transientVramMb` is needed only
 * while one request runs.
 */
export interface PlacementProfile {
  name: string;
  device: DeviceKind;
  precision: Precision;
  vramMb: number;
  transientVramMb: number;
  ramMb: number;
  loadSeconds: number;
  /** Requests one instance of this profile serves at once (see `parallelism`). */
  maxParallel: number;
  /**
   * How an instance runs `maxParallel` requests at once. `shared` (default): one worker takes
   * them all (the engine overlaps them itself: async I/O, native thread pools, child processes,
   * a GPU). `replicas` (CPU profiles only): `synthesize` blocks its thread (synchronous WASM,
   * pure JS DSP), so the host runs up to `maxParallel` copies of the engine, each in its own
   * worker (or process, per `isolation`) serving one request at a time, as many as the host's
   * `engines.cpuReplicas` allows; each copy holds `ramMb`.
   */
  parallelism: "shared" | "replicas";
  /** Python modules the profile needs in the plugin's environment (e.g. `deepspeed`): offered only where they import. */
  requires?: string[];
}

export interface Capabilities {
  /** The engine yields audio in several chunks (per sentence or finer) as it makes them. */
  streaming: boolean;
  /** The engine honours `speed` (a rate factor, 1 = natural); without it the host sends 1 and says so. */
  speed: boolean;
  /** The engine honours `pitch` (a frequency factor, 1 = natural); without it the host sends 1 and says so. */
  pitch: boolean;
  /** Speed factors the engine can realise, [min, max]; the host clamps requests to them. */
  speedRange?: [number, number];
  /** Pitch factors the engine can realise, [min, max]; the host clamps requests to them. */
  pitchRange?: [number, number];
  voiceCloning: boolean;
  /** Sample rates the engine can produce (the actual one travels with every chunk). */
  sampleRates: number[];
  /** `host`: synthesize gets one sentence at a time; `engine`: the whole text. */
  sentenceSplitting: "host" | "engine";
}

/** One engine-specific option a request may set (`options.NAME`). */
export type OptionSpec =
  | { type: "number"; description: string; default?: number; min?: number; max?: number; integer: boolean }
  | { type: "boolean"; description: string; default?: boolean }
  | { type: "string"; description: string; default?: string; enum?: string[]; maxLength: number };

/** Seconds the host waits on the engine before it gives up on a call. */
export interface Timeouts {
  loadSeconds: number;
  /** A synthesis holding credit may go this long without a chunk (also `listVoices`, `health`). */
  chunkSeconds: number;
}

/** A `chorus` subcommand the plugin adds (see `defineCommand`). */
export interface CommandSpec {
  name: string;
  module: string;
  usage: string;
  description: string;
}

/** An OpenAI voice name this engine answers to, and the engine voice (and options) it means. */
export interface VoiceAlias {
  voice: string;
  options?: Record<string, unknown>;
}

/** Names clients of the compatibility APIs use, contributed by this engine. */
export interface Aliases {
  openai: {
    /** OpenAI voice names (alloy, nova, ...) -> this engine's voice. */
    voices: Record<string, VoiceAlias>;
    /** OpenAI model names (tts-1, ...) this engine serves. The configuration may override them. */
    models: string[];
  };
}

/** The torch build a Python engine wants (see `chorus plugin setup`). */
export interface TorchSpec {
  /** `auto`: a CUDA build where an NVIDIA GPU is seen, else CPU. */
  build: "auto" | "cpu" | "cuda";
  /** The CUDA wheel tag of CUDA builds: cu118, cu121, cu126, cu128, ... */
  cuda: string;
  /** A pip version specifier for `packages`, e.g. `>=2.1,<2.9`. */
  version: string;
  packages: string[];
}

/** The environment of a Python engine (runtime `python`). */
export interface PythonSpec {
  /** Python versions the engine runs on, e.g. `>=3.10,<3.14`. */
  version: string;
  /** A requirements file in the plugin folder, or pip requirement lines. */
  requirements: string | string[];
  torch?: TorchSpec;
}

/** A JSON Schema (draft 2020-12) object. */
export type JsonSchema = Record<string, unknown>;

export interface Manifest {
  $schema?: string;
  id: string;
  name: string;
  version: string;
  description: string;
  /** Semver range of SDK versions the plugin works with, e.g. `^1.0.0`. */
  sdk: string;
  /** Module (relative to the plugin folder) whose default export is `definePlugin(...)`. */
  entry: string;
  /** `node` (TypeScript/JavaScript) or `python` (a child process with its own environment). */
  runtime: "node" | "python";
  python?: PythonSpec;
  isolation: "worker" | "process";
  license?: string;
  languages: string[];
  defaultVoice?: string;
  /** Voice ids of the form `PREFIX:name` this engine uses (e.g. `voiceset:`); never read as `engine:voice`. */
  voicePrefixes?: string[];
  capabilities: Capabilities;
  resources: { profiles: PlacementProfile[]; fallbacks: string[] };
  options: Record<string, OptionSpec>;
  /** JSON Schema of `engines.settings.<id>`: checked when the plugin is loaded, defaults applied. */
  settings?: JsonSchema;
  timeouts: Timeouts;
  commands: CommandSpec[];
  aliases: Aliases;
}
