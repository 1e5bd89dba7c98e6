/** The phonemizer's own mechanics: warm reuse, sentence reconstruction, chunking, id mapping. */
import { describe, expect, it } from "vitest";
import { chunkText, EspeakPhonemizer, splitSentences, textPhonemes } from "../../engines/piper/phonemizer.ts";
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
});

describe("ids", () => {
  it("BOS, pad, each phoneme then pad, EOS, from the voice's own map; unknown phonemes dropped and counted", () => {
    const map = { "^": [5], _: [7], $: [6], a: [10], b: [11, 12] };
    const missing = new Map<string, number>();
    expect(phonemesToIds(["a", "x", "b", "x", "y"], map, missing)).toEqual([5, 7, 10, 7, 11, 12, 7, 6]);
    expect([...missing]).toEqual([["x", 2], ["y", 1]]);
  });

  it("applies phoneme_map and the text phoneme type (lower-case NFD code points, one sentence)", () => {
    const config = parseVoiceConfig({
      audio: { sample_rate: 16000 },
      espeak: { voice: "en-us" },
      num_symbols: 256,
      num_speakers: 1,
      phoneme_type: "text",
      phoneme_map: { "ɹ": ["r"] },
      phoneme_id_map: defaultMap,
    });
    expect(textPhonemes("Écho")).toEqual([["e", "\u0301", "c", "h", "o"]]);
    const [sentence] = mapSentences([["ɹ", "a"]], config);
    expect(sentence!.phonemes).toEqual(["r", "a"]);
    expect(sentence!.phoneme_ids).toEqual([1, 0, 30, 0, 14, 0, 2]);
  });
});
