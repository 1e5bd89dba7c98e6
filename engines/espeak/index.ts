/**
 * eSpeak NG, from the `espeak-ng` npm package (espeak-ng compiled to WASM with its data
 * embedded). The module is instantiated once at load; each sentence runs espeak-ng's own
 * `main` again on the warm instance, writing a WAV into the in-memory file system.
 * `main` keeps state in C globals (getopt's `optind`, open files), so the linear memory is
 * snapshotted before the first run and restored before each one: every run starts as fresh
 * as a new process, without compiling or instantiating anything.
 * Each run pays espeak's start-up. It was about 14 ms of CPU, nearly all of it espeak building
 * its voice list (some 370 files opened and read through emscripten's JS file system) and the
 * restore of 18 MB of memory; now a voice is named by its file (no list is built) and only the
 * 0.3 MB a run can change is restored: about 1.5 ms (a variant still builds the list).
 * The engine splits the text itself: the first sentence runs alone so that it streams at once,
 * the rest share runs of up to MAX_BATCH_CHARS; cancellation is checked between runs.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import {
  BadOptionError,
  EngineError,
  VoiceNotFoundError,
  definePlugin,
  splitSentences,
  throwIfAborted,
  wavChunks,
  type AudioChunk,
  type Engine,
  type SynthesisRequest,
  type Voice,
} from "chorus/sdk";
import { mutableRanges } from "./memory-ranges.ts";

const DATA_ROOT = "/usr/local/share/espeak-ng-data";
const BASE_WPM = 175;

/** Words per minute for a rate factor: 175 at 1, within espeak's 80-450 (manifest speedRange). */
export function espeakRate(factor: number): number {
  return Math.round(Math.min(450, Math.max(80, BASE_WPM * factor)));
}

/**
 * espeak's `-p` (0-99, 50 = the voice's own pitch) for a pitch factor. espeak-ng scales the
 * voice's base pitch by pitch_adjust_tab[p] / 128, built as 2^((p - 50) / 50): one octave down
 * at 0, one up at 100. So p = 50 + 50 * log2(factor), and the factors eSpeak can realise are
 * 0.5-2 (the manifest's pitchRange; -p 99 is 1.97). A linear mapping made 2, 3 and 4 all 99.
 */
export function espeakPitch(factor: number): number {
  return Math.round(Math.min(99, Math.max(0, 50 + 50 * Math.log2(factor))));
}
/** Largest batch of sentences spoken in one run, in characters. */
const MAX_BATCH_CHARS = 1200;

interface EmscriptenFS {
  readdir(path: string): string[];
  stat(path: string): { mode: number };
  lstat(path: string): { mode: number };
  readlink(path: string): string;
  symlink(target: string, path: string): void;
  isDir(mode: number): boolean;
  readFile(path: string, opts?: { encoding: "utf8" }): Uint8Array;
  writeFile(path: string, data: string | Uint8Array): void;
  unlink(path: string): void;
}
interface EspeakModule {
  FS: EmscriptenFS;
  HEAPU8: Uint8Array;
  _main(argc: number, argv: number): number;
}
interface WasmExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  fflush(stream: number): number;
  stackSave(): number;
  stackRestore(sp: number): void;
  /** Table of the files embedded in the module's memory: {name, length, data} pointers, 0-ended. */
  __emscripten_embedded_file_data?: WebAssembly.Global;
}
interface EmscriptenStream {
  fd: number;
}

class EspeakEngine implements Engine {
  private module?: EspeakModule;
  private exports?: WasmExports;
  private voices: Voice[] = [];
  private variants = new Set<string>();
  private stderr: string[] = [];
  private pristine?: Uint8Array;
  /** The parts of `pristine` a run may change (all of it but the embedded data files). */
  private restore: [number, number][] = [];
  /**
   * Voice id -> its language file, as a lower-case path under lang/ (`gmw/en-us`). Given this
   * path, espeak loads the file directly; given the id, it first builds its voice list
   * (about 370 files opened and read through the JS file system, most of a run's start-up).
   * Same audio for every voice (tests/engines/espeak.test.ts). Not used with a variant: with
   * one, some voices sound different by file than by id (fr-fr+m3; for breathy variants such as
   * f2 part of that is their random breath noise), so variants keep espeak's own lookup.
   */
  private voiceFiles = new Map<string, string>();

  async load(): Promise<void> {
    const require = createRequire(import.meta.url);
    const jsPath = require.resolve("espeak-ng");
    const wasm = await WebAssembly.compile(fs.readFileSync(jsPath.replace(/\.js$/, ".wasm")));
    const factory = (await import("espeak-ng")).default as (opts: object) => Promise<EspeakModule>;
    this.module = await factory({
      noInitialRun: true,
      print: () => {},
      printErr: (line: string) => this.stderr.push(line),
      // Keep a handle on the raw exports: the JS glue does not expose malloc/free.
      instantiateWasm: (imports: WebAssembly.Imports, done: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) => {
        void WebAssembly.instantiate(wasm, imports).then((instance) => {
          this.exports = instance.exports as unknown as WasmExports;
          done(instance, wasm);
        });
        return {};
      },
    });
    // Everything above the last non-zero byte is untouched heap: a run may scribble there,
    // but with the allocator's state restored it is free space again, so only the part
    // below needs restoring.
    const memory = new Uint8Array(this.exports!.memory.buffer);
    let end = memory.length;
    while (end > 0 && memory[end - 1] === 0) end--;
    this.pristine = memory.slice(0, end + 64);
    this.restore = mutableRanges(memory, this.exports!.__emscripten_embedded_file_data?.value, this.pristine.length);
    this.voices = this.readVoices();
    this.variants = new Set(this.module.FS.readdir(`${DATA_ROOT}/voices/!v`).filter((n) => !n.startsWith(".")));
  }

  async unload(): Promise<void> {
    this.module = undefined;
    this.exports = undefined;
    this.pristine = undefined;
  }

  async listVoices(): Promise<Voice[]> {
    return this.voices;
  }

  async *synthesize(request: SynthesisRequest, signal: AbortSignal): AsyncGenerator<AudioChunk> {
    throwIfAborted(signal);
    const module = this.module;
    if (!module) throw new EngineError("ENGINE_FAILED", "espeak is not loaded");
    if (!this.voices.some((v) => v.id === request.voice)) throw new VoiceNotFoundError(request.voice);
    const variant = request.options.variant as string | undefined;
    if (variant !== undefined && !this.variants.has(variant)) {
      throw new BadOptionError("variant", `unknown variant '${variant}'`);
    }
    const wpm = espeakRate(request.speed);
    const pitch = espeakPitch(request.pitch);
    const args = [
      "-w",
      "/tmp/out.wav",
      "-v",
      variant ? `${request.voice}+${variant}` : (this.voiceFiles.get(request.voice) ?? request.voice),
      "-s",
      String(wpm),
      "-p",
      String(pitch),
      "-g",
      String(request.options.wordGap ?? 0),
      "-a",
      String(request.options.amplitude ?? 100),
      "-f",
      "/tmp/in.txt",
    ];
    for (const batch of batches(splitSentences(request.text), MAX_BATCH_CHARS)) {
      throwIfAborted(signal);
      try {
        module.FS.unlink("/tmp/out.wav");
      } catch {
        // not there yet
      }
      module.FS.writeFile("/tmp/in.txt", batch);
      this.stderr = [];
      const code = this.runMain(args);
      if (code !== 0) {
        throw new EngineError("ENGINE_FAILED", `espeak-ng exited with ${code}: ${this.stderr.join(" ").trim()}`);
      }
      // Chunks the host can move rather than copy (each its own buffer, within the chunk limit).
      yield* wavChunks(module.FS.readFile("/tmp/out.wav"));
    }
  }

  /** Runs espeak-ng's C `main(argc, argv)` on freshly restored memory. */
  private runMain(args: string[]): number {
    const module = this.module!;
    const wasm = this.exports!;
    const memory = new Uint8Array(wasm.memory.buffer);
    for (const [from, to] of this.restore) memory.set(this.pristine!.subarray(from, to), from);
    const stack = wasm.stackSave();
    const all = ["espeak-ng", ...args];
    const encoder = new TextEncoder();
    const pointers = all.map((arg) => {
      const bytes = encoder.encode(`${arg}\0`);
      const ptr = wasm.malloc(bytes.length);
      new Uint8Array(wasm.memory.buffer).set(bytes, ptr);
      return ptr;
    });
    const argv = wasm.malloc(4 * (all.length + 1));
    const view = new DataView(wasm.memory.buffer);
    pointers.forEach((ptr, i) => view.setUint32(argv + 4 * i, ptr, true));
    view.setUint32(argv + 4 * all.length, 0, true);
    try {
      return module._main(all.length, argv);
    } catch (err) {
      // espeak calls exit() on fatal errors; emscripten turns that into an exception.
      const status = (err as { status?: number }).status;
      if (typeof status === "number") return status;
      throw err;
    } finally {
      wasm.fflush(0);
      wasm.stackRestore(stack);
      // Close what main left open on the JS side of the file system (fds 0-2 are stdio).
      const fsys = module.FS as unknown as { streams: (EmscriptenStream | null)[]; close(s: EmscriptenStream): void };
      for (const stream of fsys.streams) if (stream && stream.fd > 2) fsys.close(stream);
    }
  }

  /** Voices are espeak's language definitions (`espeak-ng-data/lang/**`). */
  private readVoices(): Voice[] {
    const fsys = this.module!.FS;
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of fsys.readdir(dir)) {
        if (name === "." || name === "..") continue;
        const p = `${dir}/${name}`;
        if (fsys.isDir(fsys.stat(p).mode)) walk(p);
        else files.push(p);
      }
    };
    walk(`${DATA_ROOT}/lang`);
    this.voiceFiles.clear();
    const voices = new Map<string, Voice>();
    const priorities = new Map<string, Map<string, number>>();
    for (const file of files) {
      const text = new TextDecoder().decode(fsys.readFile(file));
      const name = /^name\s+(.+)$/m.exec(text)?.[1]?.trim() ?? file.split("/").pop()!;
      // `language fr 8`: the voice speaks fr with priority 8 (lower is preferred; 5 when left out).
      const entries = [...text.matchAll(/^language\s+(\S+)(?:\s+(\d+))?/gm)].map((m) => ({ tag: m[1]!.toLowerCase(), priority: m[2] ? Number(m[2]) : 5 }));
      const languages = entries.map((e) => e.tag);
      const id = languages[0] ?? file.split("/").pop()!.toLowerCase();
      if (voices.has(id)) continue;
      voices.set(id, { id, name, languages: languages.length ? languages : [id] });
      const direct = directVoicePath(fsys, file);
      if (direct) this.voiceFiles.set(id, direct);
      priorities.set(id, new Map(entries.map((e) => [e.tag, e.priority])));
    }
    return orderByLanguagePriority([...voices.values()], priorities);
  }
}

/**
 * The path espeak's `-v` loads `file` by (relative to lang/): espeak lower-cases the name, so
 * a file with capitals (`gmw/en-US`) gets a lower-case link next to it. Undefined when another
 * file already has the lower-case name.
 */
function directVoicePath(fsys: EmscriptenFS, file: string): string | undefined {
  const relative = file.slice(`${DATA_ROOT}/lang/`.length);
  const lower = relative.toLowerCase();
  if (lower === relative) return relative;
  const alias = `${DATA_ROOT}/lang/${lower}`;
  try {
    fsys.lstat(alias);
    return fsys.readlink(alias) === file ? lower : undefined;
  } catch {
    fsys.symlink(file, alias);
    return lower;
  }
}

/**
 * Voices grouped by base language (`fr` for fr-fr, fr-be, fr-ch), the one eSpeak prefers for
 * that language first (its `language fr N` priority), then by id. The host takes the first
 * voice listing a language as that language's default (`fr` -> fr-fr, `pt` -> pt, not pt-br).
 */
export function orderByLanguagePriority(voices: Voice[], priorities: Map<string, Map<string, number>>): Voice[] {
  const base = (v: Voice) => v.id.split("-")[0]!;
  const rank = (v: Voice) => priorities.get(v.id)?.get(base(v)) ?? 100;
  return voices.sort((a, b) => base(a).localeCompare(base(b)) || rank(a) - rank(b) || a.id.localeCompare(b.id));
}

/** The first sentence alone, then the rest grouped into runs of at most `maxChars`. */
export function batches(sentences: string[], maxChars: number): string[] {
  const out: string[] = sentences.slice(0, 1);
  for (const sentence of sentences.slice(1)) {
    const last = out.length > 1 ? out[out.length - 1]! : undefined;
    if (last !== undefined && last.length + 1 + sentence.length <= maxChars) out[out.length - 1] = `${last} ${sentence}`;
    else out.push(sentence);
  }
  return out;
}

export default definePlugin({ create: () => new EspeakEngine() });
