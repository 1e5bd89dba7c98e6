/**
 * The engine protocol (v1, docs/protocol.md): messages between the host and an engine's
 * worker thread or child process. Every request carries an `id`; the engine answers with
 * `result` or `error`. A `synthesize` request streams `chunk` messages before its `result`,
 * each consuming one credit: the engine sends only as many chunks as the host has granted
 * (`credits` on the request, then `credit` messages as the host consumes), so what the host
 * holds per request is bounded by `credits x MAX_CHUNK_BYTES` whatever the engine does.
 */
import type { DeviceInfo, Manifest, PlacementProfile, SynthesisRequest } from "../../packages/sdk/src/index.ts";

/**
 * Protocol version, as `ready.protocol`; a runtime speaking another major is refused. 1.1 added
 * `synthesize.more`: the host sends it only to runtimes that say 1.1 or later (speaksMore).
 */
export const PROTOCOL_VERSION = "1.1.0";

/** Whether a runtime that said `protocol` in its `ready` takes `synthesize.more` (1.1+). */
export function speaksMore(protocol: string | undefined): boolean {
  const [major, minor] = String(protocol ?? "1.0.0")
    .split(".")
    .map(Number);
  return major === 1 && (minor ?? 0) >= 1;
}

/**
 * One text of a `synthesize` with `more` (both sides: the runtime, and the host speaking to a
 * 1.0 runtime): `text`, with the `continues` hint where more of the same request follows (the
 * request's own hint on the last text).
 */
export function continuing(request: SynthesisRequest, text: string, followed: boolean): SynthesisRequest {
  return { ...request, text, ...(followed ? { continues: true } : {}) };
}
/**
 * Chunks the host grants with each `synthesize` (its window per request: 2 MiB). Sized so that
 * an engine that makes a batch of sentences at once (eSpeak: up to 1200 characters, about
 * 1.5 MiB) sends all of it without waiting for the host's thread to grant more: with 4, each
 * batch paid a round trip between the threads (measured 1.5 ms on a busy machine).
 */
export const INITIAL_CREDITS = 8;
/** Largest PCM chunk an engine may send, bytes (the runtime splits larger ones); the SDK's constant. */
export { MAX_CHUNK_BYTES } from "../../packages/sdk/src/index.ts";

/** What an engine's Node runtime needs to start (worker data, or argv[2] of a child process). */
export interface EngineBootData {
  manifest: Manifest;
  pluginDir: string;
  /** file: URL of the plugin's entry module. */
  entryUrl: string;
  /** Worker threads: how often the runtime reports its isolate's memory (`usage`), ms. */
  usageEveryMs?: number;
}

/** What the host loads an engine with (the SDK's LoadContext less what the runtime adds). */
export interface HostLoadContext {
  profile: PlacementProfile;
  device: DeviceInfo;
  pluginDir: string;
  settings: Record<string, unknown>;
  dataDir: string;
}

/** The `load` context on the wire: the profile by name (the manifest holds its spec). */
export interface WireLoadContext {
  profile: string;
  /** The largest chunk the host accepts (MAX_CHUNK_BYTES); runtimes split larger audio. */
  maxChunkBytes: number;
  device: DeviceInfo;
  settings: Record<string, unknown>;
  pluginDir: string;
  dataDir: string;
}

/** An error on the wire: `name` says what the host can do about it. */
export interface WireError {
  name: "OutOfMemoryError" | "BadOptionError" | "VoiceNotFoundError" | "AbortError" | "EngineError";
  message: string;
  code?: string;
  /** OutOfMemoryError: the allocation that failed, MB. */
  neededMb?: number;
  /** BadOptionError: the option's key. */
  option?: string;
  /** VoiceNotFoundError: the voice asked for. */
  voice?: string;
  stack?: string;
}

export type HostToEngine =
  | { type: "load"; id: number; context: WireLoadContext }
  | { type: "unload"; id: number }
  | { type: "voices"; id: number }
  | { type: "health"; id: number }
  /**
   * `more` (1.1): texts to speak after `request.text`, one after the other with the same voice
   * and parameters, each as its own engine call, their chunks under this id, one `result` at
   * the end. What the host would otherwise send as several requests, each waiting for the
   * last one's `result` (the short first chunk and the rest of its sentence: text/first-chunk.ts).
   */
  | { type: "synthesize"; id: number; request: SynthesisRequest; credits: number; more?: string[] }
  | { type: "credit"; id: number; n: number }
  | { type: "abort"; id: number }
  /** Answered by the runtime loop itself (never the engine): is it alive? */
  | { type: "ping"; id: number }
  | { type: "shutdown" };

export interface MemoryReport {
  vramMb?: number;
  ramMb?: number;
  device?: string;
}

export type EngineToHost =
  | { type: "ready"; sdk: string; runtime: string; protocol?: string }
  | { type: "boot-failed"; error: WireError }
  | { type: "pong"; id: number }
  | { type: "result"; id: number; value?: unknown }
  | { type: "error"; id: number; error: WireError }
  /**
   * On a byte stream the samples travel as the frame's payload (s16le). In a worker thread the
   * host's runtime adds the thread's `usage` (as the `usage` message) instead of a message of its own.
   */
  | { type: "chunk"; id: number; sampleRate: number; samples: Int16Array; usage?: { heapMb: number; externalMb: number } }
  | { type: "log"; level: "debug" | "info" | "warn" | "error"; msg: string; extra?: Record<string, unknown> }
  | ({ type: "memory" } & MemoryReport)
  /**
   * Sent by the host's own runtime in a worker thread (never the engine): what the thread's
   * isolate holds, MB (V8 heap in use; external memory: Buffers, ArrayBuffers). On a timer
   * (with every chunk, it rides on the chunk); the host stops the worker past its memory limit.
   */
  | { type: "usage"; heapMb: number; externalMb: number };
