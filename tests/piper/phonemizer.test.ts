/** The phonemizer's own mechanics: warm reuse, sentence reconstruction, chunking, id mapping. */
import { describe, expect, it } from "vitest";
import { chunkText } from "../../engines/piper/chunk-text.ts";
import { caseFold, EspeakPhonemizer, splitSentences, textPhonemes } from "../../engines/piper/phonemizer.ts";
import { mapSentences, phonemesToIds } from "../../engines/piper/phoneme-ids.ts";
import { parseVoiceConfig } from "../../engines/piper/voice-config.ts";
import defaultMap from "../../engines/piper/default-phoneme-id-map.json" with { type: "json" };
import { referencePhonemize } from "./helpers.ts";

describe("warm piper-phonemize instance", () => {
  it("gives the same answer on its 300th call as a fresh instance (no stack or memory leak)", async () => {
    const phonemizer = new EspeakPhonemizer();
    await phonemizer.init();
    const long = Array.from({ length: 60 }, (_, i) => `Sentence ${i} is here.`).join(" ");
    for (let i = 0; i < 300; i++) await phonemizer.phonemize(i % 20 === 0 ? long : `Call number ${i}.`, "en-us");
    const text = "The 300th call, still exact.";
    const reference = await referencePhonemize(text, "en-us");
    expect((await phonemizer.phonemize(text, "en-us")).flat()).toEqual(reference.phonemes);
  });

  it("reports an unknown espeak voice as an error and recovers for the next call", async () => {
    const phonemizer = new EspeakPhonemizer();
    await expect(phonemizer.phonemize("hi", "xx-nonexistent")).rejects.toThrow(/piper-phonemize failed for espeak voice 'xx-nonexistent'/);
    expect((await phonemizer.phonemize("hi.", "en-us")).flat().join("")).toBe("hˈaɪ.");
  });
});

describe("sentences from piper-phonemize's output", () => {
  it("keeps phonemes the default map lacks, combining marks with the sentence before", async () => {
    // Japanese output contains U+031E and U+0308, which Piper's default map lacks.
    const text = "こんにちは。元気？はい。";
    const reference = await referencePhonemize(text, "ja");
    const sentences = splitSentences(reference);
    expect(sentences.flat()).toEqual(reference.phonemes);
    expect(sentences).toHaveLength(3);
    expect(sentences[0]!.at(-1)).toBe("\u0308");
    expect(sentences[1]![0]).not.toBe("\u0308");
  });

  it("rejects ids that are not piper-phonemize's shape", () => {
    expect(() => splitSentences({ phonemes: ["a"], phoneme_ids: [1, 0, 14, 2] })).toThrow(/expected PAD/);
    expect(() => splitSentences({ phonemes: ["a"], phoneme_ids: [1, 0, 15, 0, 2] })).toThrow(/does not match/);
  });
});

describe("chunking long texts", () => {
  it("cuts after sentence punctuation and keeps every character", () => {
    const text = Array.from({ length: 100 }, (_, i) => `Sentence ${i} ends here. `).join("");
    const chunks = chunkText(text, 500);
    expect(chunks.join("")).toBe(text);
    expect(chunks.length).toBeGreaterThan(4);
    for (const c of chunks) expect(Buffer.byteLength(JSON.stringify(c))).toBeLessThanOrEqual(500);
    for (const c of chunks.slice(0, -1)) expect(c).toMatch(/here\. $/);
    expect(chunkText("short", 500)).toEqual(["short"]);
    const noPunctuation = "word ".repeat(300);
    expect(chunkText(noPunctuation, 200).every((c) => c.endsWith(" "))).toBe(true);
  });

  /** The first piece of `text` cut to fit `limit` bytes. */
  const firstPiece = (text: string, limit = 120) => chunkText(text, limit)[0];
  const filler = "x ".repeat(80);

  it("cuts where espeak ends sentences: CJK marks need no space; 'p.m. on', '...' and no-break spaces are no end", () => {
    expect(firstPiece("第一句话。第二句话！第三句话？第四句话".repeat(5), 90)).toMatch(/[。！？]$/);
    expect(firstPiece(`Early end. We meet at 3 p.m. on Monday ${filler}`)).toBe("Early end. ");
    expect(firstPiece(`Early end. Wait... What now ${filler}`)).toBe("Early end. ");
    expect(firstPiece(`Early end. Hi.\u00a0There ${filler}`)).toBe("Early end. ");
    // A period on its own line, before white space with a newline, or before a closing quote ends a sentence.
    expect(firstPiece(`Early end. Stop.\nthen ${filler}`)).toBe("Early end. Stop.\n");
    expect(firstPiece(`Early end. He said "Stop." then ${filler}`)).toBe('Early end. He said "Stop." ');
    expect(firstPiece(`Early end. Is it? yes ${filler}`)).toBe("Early end. Is it? ");
    expect(firstPiece(`Early end.\n\nnew paragraph ${filler}`)).toBe("Early end.\n\n");
  });

  it("prefers sure sentence ends to 'Dr. Smith', then clause punctuation, newlines, white space", () => {
    expect(firstPiece(`Early end. Then Dr. Smith came ${filler}`)).toBe("Early end. ");
    expect(firstPiece(`no sure end, but Dr. Smith came ${filler}`)).toBe("no sure end, but Dr. ");
    expect(firstPiece(`a clause, and a line\nand words ${filler}`)).toBe("a clause, ");
    expect(firstPiece(`a line\nand words ${filler}`)).toBe("a line\n");
    expect(firstPiece(`很长的句子，没有句号${"字".repeat(60)}`, 90)).toBe("很长的句子，");
  });

  it("never cuts inside a surrogate pair or before a combining mark", () => {
    for (const limit of [101, 102, 103, 104]) {
      for (const text of [`a${"🎉".repeat(100)}`, "e\u0301".repeat(100), "👩‍👩‍👧".repeat(40)]) {
        const chunks = chunkText(text, limit);
        expect(chunks.join("")).toBe(text);
        for (const chunk of chunks) {
          expect(chunk).not.toMatch(/[\ud800-\udfff]/u); // a lone surrogate (pairs are one code point here)
          expect(chunk).not.toMatch(/^[\p{M}\u200d]/u);
          expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThanOrEqual(limit);
        }
      }
    }
  });
});

describe("ids", () => {
  it("BOS, pad, each phoneme then pad, EOS, from the voice's own map; unknown phonemes dropped and counted", () => {
    const map = { "^": [5], _: [7], $: [6], a: [10], b: [11, 12] };
    const missing = new Map<string, number>();
    expect(phonemesToIds(["a", "x", "b", "x", "y"], map, missing)).toEqual([5, 7, 10, 7, 11, 12, 7, 6]);
    expect([...missing]).toEqual([
      ["x", 2],
      ["y", 1],
    ]);
  });

  it("the text phoneme type case-folds (full folding, as uni-algo's to_casefold_utf8), not just lower-cases", () => {
    expect(textPhonemes("Straße ΟΔΟΣ")).toEqual([[..."strasse οδοσ"]]);
    expect(caseFold("ẞ ﬁne ﬀ ŉ ᾳ ϐ ſ µ")).toBe("ss fine ff ʼn αι β s μ");
    expect(caseFold("İ")).toBe("i\u0307"); // as lower-casing: full folding has no Turkic dotless rule
    expect(caseFold("ꭰᏸ")).toBe("ᎠᏰ"); // Cherokee folds to its capitals
    expect(caseFold("Hello WORLD ÉÀ")).toBe("Hello WORLD ÉÀ".toLowerCase());
    expect(textPhonemes("Éß")).toEqual([["e", "\u0301", "s", "s"]]); // folded, then NFD
  });

  it("applies phoneme_map and the text phoneme type (case-folded NFD code points, one sentence)", () => {
    const config = parseVoiceConfig({
      audio: { sample_rate: 16000 },
      espeak: { voice: "en-us" },
      num_symbols: 256,
      num_speakers: 1,
      phoneme_type: "text",
      phoneme_map: { ɹ: ["r"] },
      phoneme_id_map: defaultMap,
    });
    expect(textPhonemes("Écho")).toEqual([["e", "\u0301", "c", "h", "o"]]);
    const [sentence] = mapSentences([["ɹ", "a"]], config);
    expect(sentence!.phonemes).toEqual(["r", "a"]);
    expect(sentence!.phoneme_ids).toEqual([1, 0, 30, 0, 14, 0, 2]);
  });
});
