/**
 * Messages between the host and an engine's worker thread or child process.
 * Every request carries an `id`; the engine side answers with `result`/`error`, and a
 * `synthesize` request additionally streams `chunk` messages before its `result`.
 */
import type { Manifest } from "../sdk/manifest.ts";
import type { LoadContext, SynthesisRequest } from "../sdk/engine.ts";
import type { SerializedError } from "../sdk/errors.ts";

export interface EngineBootData {
  manifest: Manifest;
  pluginDir: string;
  /** file: URL of the plugin's entry module. */
  entryUrl: string;
}

export type HostToEngine =
  | { type: "load"; id: number; context: Omit<LoadContext, "log"> }
  | { type: "unload"; id: number }
  | { type: "voices"; id: number }
  | { type: "health"; id: number }
  | { type: "synthesize"; id: number; request: SynthesisRequest }
  | { type: "abort"; id: number }
  /** Answered by the runtime itself (never the engine): is the worker's event loop alive? */
  | { type: "ping"; id: number };

export type EngineToHost =
  | { type: "ready" }
  | { type: "boot-failed"; error: SerializedError }
  | { type: "pong"; id: number }
  | { type: "result"; id: number; value?: unknown }
  | { type: "error"; id: number; error: SerializedError }
  | { type: "chunk"; id: number; sampleRate: number; samples: Int16Array }
  | { type: "log"; level: "debug" | "info" | "warn" | "error"; msg: string; extra?: Record<string, unknown> };
