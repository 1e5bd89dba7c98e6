/**
 * XTTS's text tokenizer as the trainer sees it (coqui `TTS/tts/layers/xtts/tokenizer.py`): the
 * text is lower-cased by the cleaners, prefixed with `[lang]`, every space becomes a `[SPACE]`
 * token, and the rest goes through the byte-pair encoding of the model's `vocab.json` (a
 * Hugging Face tokenizers file: `model.vocab`, `model.merges`, a Whitespace pre-tokenizer).
 * Without a vocab.json the count is an estimate: ceil(r x characters) + 1, with r = 0.65 tokens
 * per character for alphabetic scripts (0.58-0.67 measured on English), 1.0 for zh/ja/ko (one
 * token per character) and 0.8 for ar/hi [estimate, not measured]; docs/finetune.md.
 */
import fs from "node:fs";
import path from "node:path";
import type { Tokenizer } from "../model.ts";

const RATE: Record<string, number> = { "zh-cn": 1.0, ja: 1.0, ko: 1.0, ar: 0.8, hi: 0.8 };

export function estimateTokenizer(): Tokenizer {
  return {
    kind: "estimate",
    count: (text, language) => Math.ceil((RATE[language] ?? 0.65) * [...normalise(text)].length) + 1,
    unknownCharacters: () => [],
  };
}

/** What the cleaners do that changes the token count here: lower case, collapsed whitespace. */
function normalise(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

interface VocabFile {
  model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[]; unk_token?: string };
  added_tokens?: { content: string }[];
}

export class BpeTokenizer implements Tokenizer {
  readonly kind = "exact" as const;
  private readonly vocab: Map<string, number>;
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();

  constructor(file: VocabFile) {
    if (!file.model?.vocab || !file.model.merges) throw new Error("vocab.json has no model.vocab/model.merges (not a BPE tokenizer file)");
    this.vocab = new Map(Object.entries(file.model.vocab));
    file.model.merges.forEach((m, i) => this.ranks.set(Array.isArray(m) ? m.join(" ") : m, i));
    for (const t of file.added_tokens ?? []) if (!this.vocab.has(t.content)) this.vocab.set(t.content, this.vocab.size);
  }

  /** Pieces of one word after the merges, lowest rank first (standard BPE). */
  private bpe(word: string): string[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    let parts = [...word];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < parts.length - 1; i++) {
        const rank = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (rank !== undefined && rank < bestRank) [best, bestRank] = [i, rank];
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
    }
    this.cache.set(word, parts);
    return parts;
  }

  private tokens(text: string, language: string): string[] {
    const out = [`[${language}]`];
    const words = normalise(text).split(" ");
    words.forEach((word, i) => {
      if (i > 0) out.push("[SPACE]");
      // Whitespace pre-tokenizer: \w+ | [^\w\s]+
      for (const piece of word.match(/[\p{L}\p{N}_]+|[^\p{L}\p{N}_\s]+/gu) ?? []) out.push(...this.bpe(piece));
    });
    return out;
  }

  count(text: string, language: string): number {
    return this.tokens(text, language).length;
  }

  unknownCharacters(text: string, language: string): string[] {
    const unknown = new Set<string>();
    // The language tag and [SPACE] are special tokens the tokenizer adds itself.
    for (const t of this.tokens(text, language).slice(1))
      if (t !== "[SPACE]" && !this.vocab.has(t)) for (const ch of t) if (!this.vocab.has(ch)) unknown.add(ch);
    return [...unknown];
  }
}

/** The model folder's vocab.json when given (errors name the file), else the estimate. */
export function xttsTokenizer(modelDir?: string): Tokenizer {
  if (!modelDir) return estimateTokenizer();
  const file = path.join(modelDir, "vocab.json");
  let parsed: VocabFile;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8")) as VocabFile;
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  return new BpeTokenizer(parsed);
}
