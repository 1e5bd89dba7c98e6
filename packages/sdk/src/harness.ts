/**
 * A test harness for plugin authors: runs an engine the way the host does, in-process, so a
 * plugin's own tests (vitest, node:test, anything) check it like fastify users check routes
 * with `inject`: the manifest checked against plugin.schema.json and read with its defaults, options validated with defaults
 * applied, the voice resolved, every chunk checked against the contract, abort carried.
 *
 *   const engine = await testEngine(import.meta.dirname);
 *   const out = await engine.synthesize({ text: "Hello." });
 *   assert(out.seconds > 0.2);
 *   await engine.close();
 *
 * Then `chorus plugin check DIR` tries the plugin inside a real engine worker of the host.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { manifestWithDefaults, settingsWithDefaults } from "./defaults.ts";
import { checkManifestShape } from "./schema-check.ts";
import type { AudioChunk, DeviceInfo, Engine, EngineLogger, MemoryReport, PluginDefinition, SynthesisRequest, Voice } from "./engine.ts";
import { EngineError, VoiceNotFoundError } from "./errors.ts";
import type { Manifest } from "./manifest.ts";
import { validateOptions } from "./options.ts";

export interface TestEngineOptions {
  /** The plugin's definition; default: the manifest's `entry` module, imported. */
  plugin?: PluginDefinition;
  /** `engines.settings.<id>` for this run (the `settings` schema's defaults are applied). */
  settings?: Record<string, unknown>;
  /** Profile name (default: the first CPU profile, else the first). */
  profile?: string;
  /** Default: the profile's device, index 0, simulated when it is a GPU. */
  device?: DeviceInfo;
  /**
   * Writable folder (default: a fresh temporary folder, removed by `close()`; never inside the
   * plugin folder, where a running server would take what the engine writes for a new version).
   */
  dataDir?: string;
  /** Receives the engine's log lines (default: dropped). */
  log?: (level: keyof EngineLogger, msg: string, extra?: Record<string, unknown>) => void;
}

export interface SpeakRequest {
  text: string;
  /** Default: the manifest's `defaultVoice`, else the first voice. */
  voice?: string;
  speed?: number;
  pitch?: number;
  options?: Record<string, unknown>;
}

export interface SpeakResult {
  chunks: AudioChunk[];
  sampleRate: number;
  /** All chunks, joined. */
  samples: Int16Array;
  seconds: number;
  /** The request as the engine received it (options with defaults). */
  request: SynthesisRequest;
  /** The synthesis was aborted (by `signal` or `abortAfter`) and stopped. */
  aborted: boolean;
}

export interface TestEngine {
  manifest: Manifest;
  engine: Engine;
  /** Memory reports the engine made (`ctx.reportMemory`). */
  memoryReports: MemoryReport[];
  voices(): Promise<Voice[]>;
  /** Runs a synthesis to its end; `abortAfter` aborts once that many chunks arrived. */
  synthesize(request: SpeakRequest, control?: { signal?: AbortSignal; abortAfter?: number }): Promise<SpeakResult>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

/** Checks one chunk as the host does; throws an EngineError saying what is wrong. */
export function checkChunk(chunk: AudioChunk, manifest: Manifest, previousRate?: number): void {
  const rate = chunk?.sampleRate;
  if (!Number.isInteger(rate) || rate < 1000 || rate > 384_000) throw new EngineError("ENGINE_FAILED", `chunk has an invalid sample rate (${String(rate)})`);
  if (!(chunk.samples instanceof Int16Array)) throw new EngineError("ENGINE_FAILED", "chunk samples are not an Int16Array");
  const declared = manifest.capabilities.sampleRates;
  if (declared.length && !declared.includes(rate))
    throw new EngineError("ENGINE_FAILED", `sample rate ${rate} is not among capabilities.sampleRates (${declared.join(", ")})`);
  if (previousRate !== undefined && previousRate !== rate) throw new EngineError("ENGINE_FAILED", `chunks change sample rate (${previousRate} -> ${rate})`);
}

export async function testEngine(pluginDir: string, options: TestEngineOptions = {}): Promise<TestEngine> {
  const dir = path.resolve(pluginDir);
  const raw: unknown = JSON.parse(fs.readFileSync(path.join(dir, "plugin.json"), "utf8"));
  checkManifestShape(raw); // what the host would refuse at discovery, by field
  const manifest = manifestWithDefaults(raw);
  const definition = options.plugin ?? ((await import(pathToFileURL(path.join(dir, manifest.entry)).href)) as { default: PluginDefinition }).default;
  if (typeof definition?.create !== "function") throw new TypeError(`${manifest.entry} has no default export from definePlugin()`);
  const profiles = manifest.resources.profiles;
  const profile = options.profile ? profiles.find((p) => p.name === options.profile) : (profiles.find((p) => p.device === "cpu") ?? profiles[0]);
  if (!profile) throw new TypeError(`the manifest has no profile '${options.profile}'`);
  const device = options.device ?? { kind: profile.device, index: 0, simulated: profile.device !== "cpu" };
  const scratch = options.dataDir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), `chorus-test-${manifest.id}-`)) : undefined;
  const dataDir = options.dataDir ?? scratch!;
  fs.mkdirSync(dataDir, { recursive: true });
  const emit = options.log ?? (() => {});
  const log: EngineLogger = {
    debug: (m, e) => emit("debug", m, e),
    info: (m, e) => emit("info", m, e),
    warn: (m, e) => emit("warn", m, e),
    error: (m, e) => emit("error", m, e),
  };
  const memoryReports: MemoryReport[] = [];
  let engine: Engine;
  try {
    engine = await definition.create({ manifest });
    const settings = settingsWithDefaults(manifest, options.settings);
    await engine.load({ profile, device, pluginDir: dir, settings, dataDir, log, reportMemory: (r) => memoryReports.push(r) });
  } catch (err) {
    // the caller gets no close() to call: a failing plugin test leaves no folder in tmp
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  let voiceList: Voice[] | undefined;
  const voices = async () => (voiceList = await engine.listVoices());

  return {
    manifest,
    engine,
    memoryReports,
    voices,
    health: async () => (engine.health ? engine.health() : { ok: true }),
    close: async () => {
      try {
        await engine.unload();
      } finally {
        if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
      }
    },
    async synthesize(input, control = {}) {
      const list = voiceList ?? (await voices());
      const wanted = input.voice ?? manifest.defaultVoice ?? list[0]?.id;
      if (!wanted || !list.some((v) => v.id === wanted)) throw new VoiceNotFoundError(wanted ?? "(none: listVoices() returned no voices)");
      const request: SynthesisRequest = {
        text: input.text,
        voice: wanted,
        speed: input.speed ?? 1,
        pitch: input.pitch ?? 1,
        options: validateOptions(manifest, input.options),
      };
      const controller = new AbortController();
      const signal = control.signal ? AbortSignal.any([control.signal, controller.signal]) : controller.signal;
      const chunks: AudioChunk[] = [];
      let aborted = false;
      try {
        // As the host: after an abort the generator is not resumed again (its `return()` runs).
        for await (const chunk of engine.synthesize(request, signal)) {
          checkChunk(chunk, manifest, chunks[0]?.sampleRate);
          chunks.push(chunk);
          if (control.abortAfter !== undefined && chunks.length >= control.abortAfter) controller.abort();
          if (signal.aborted) {
            aborted = true;
            break;
          }
        }
      } catch (err) {
        if (!signal.aborted || (err as Error)?.name !== "AbortError") throw err;
        aborted = true;
      }
      const samples = new Int16Array(chunks.reduce((n, c) => n + c.samples.length, 0));
      let at = 0;
      for (const c of chunks) {
        samples.set(c.samples, at);
        at += c.samples.length;
      }
      const sampleRate = chunks[0]?.sampleRate ?? 0;
      return { chunks, sampleRate, samples, seconds: sampleRate ? samples.length / sampleRate : 0, request, aborted };
    },
  };
}
