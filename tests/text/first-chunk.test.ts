/** The short first chunk (core/text/first-chunk.ts): where it cuts, and when it leaves the text alone. */
import { describe, expect, it } from "vitest";
import { firstChunkEnd, withShortFirstChunk } from "../../core/text/first-chunk.ts";
import { splitSentences } from "../../core/text/sentences.ts";
import { TEN_SENTENCES } from "../helpers/texts.ts";

const TEN = TEN_SENTENCES;
const PARAGRAPH = TEN.join(" ");
const words = (s: string) => s.split(" ").filter(Boolean);

describe("firstChunkEnd", () => {
  it("cuts at the last clause mark within the first N words", () => {
    const s = "After a long discussion, they agreed to ask for a revised estimate.";
    expect(s.slice(0, firstChunkEnd(s, 6))).toBe("After a long discussion,");
    const two = "Well, after all that, we went home and slept for a very long time.";
    expect(two.slice(0, firstChunkEnd(two, 6))).toBe("Well, after all that,");
    const semi = "It rained; the match was called off before the second half began.";
    expect(semi.slice(0, firstChunkEnd(semi, 6))).toBe("It rained;");
    const quoted = 'He said "wait," and then the whole room went quiet for a while.';
    expect(quoted.slice(0, firstChunkEnd(quoted, 6))).toBe('He said "wait,"');
  });

  it("ends before a dash standing between words", () => {
    const s = "The results — all of them surprising — changed the plan for the year.";
    expect(s.slice(0, firstChunkEnd(s, 6))).toBe("The results");
  });

  it("without a clause mark, cuts after N words, between words, never inside one", () => {
    const s = "The committee met on Tuesday to review the proposal in detail.";
    expect(s.slice(0, firstChunkEnd(s, 6))).toBe("The committee met on Tuesday to");
    expect(s.slice(0, firstChunkEnd(s, 3))).toBe("The committee met");
    // A mark inside a word (a number, an abbreviation) is not a clause mark.
    const n = "Some 3,000 delegates from 40 countries attended the opening session today.";
    expect(n.slice(0, firstChunkEnd(n, 6))).toBe("Some 3,000 delegates from 40 countries");
  });

  it("a one-word clause at the start is no head: the cut falls at N words", () => {
    const s = "Yes, the committee met on Tuesday to review the proposal in detail.";
    expect(s.slice(0, firstChunkEnd(s, 6))).toBe("Yes, the committee met on Tuesday");
  });

  it("does not cut a sentence whose rest would be too short, nor with N = 0", () => {
    expect(firstChunkEnd("The engineers promised an answer within two weeks.", 6)).toBeUndefined(); // 8 words
    expect(firstChunkEnd("The committee met on Tuesday to review the proposal in detail.", 0)).toBeUndefined();
    expect(firstChunkEnd("Short.", 6)).toBeUndefined();
  });
});

describe("withShortFirstChunk", () => {
  it("host-split sentences: the first one's opening becomes its own part; the words are the same", () => {
    const parts = withShortFirstChunk(splitSentences(PARAGRAPH), 6);
    expect(parts.slice(0, 3)).toEqual(["The committee met on Tuesday to", "review the proposal in detail.", TEN[1]]);
    expect(parts).toHaveLength(11);
    expect(parts.join(" ")).toBe(PARAGRAPH);
  });

  it("the whole text as one part (an engine that splits itself): head, then the rest of the text", () => {
    const parts = withShortFirstChunk([PARAGRAPH], 6);
    expect(parts).toEqual(["The committee met on Tuesday to", PARAGRAPH.slice("The committee met on Tuesday to ".length)]);
  });

  it("leaves a short text exactly as it was (fewer than 4 x N words), one sentence or several", () => {
    const one = "The committee met on Tuesday to review the proposal in detail.";
    expect(withShortFirstChunk([one], 6)).toEqual([one]);
    expect(withShortFirstChunk(splitSentences(one), 6)).toEqual([one]);
    const short = TEN.slice(0, 2).join(" "); // 21 words < 24
    expect(words(short).length).toBeLessThan(24);
    expect(withShortFirstChunk([short], 6)).toEqual([short]);
    expect(withShortFirstChunk(splitSentences(short), 6)).toEqual(TEN.slice(0, 2));
  });

  it("leaves the text alone when its first sentence is already short, or when turned off", () => {
    const text = ["Hello there.", ...TEN].join(" ");
    expect(withShortFirstChunk(splitSentences(text), 6)).toEqual(splitSentences(text));
    expect(withShortFirstChunk([text], 6)).toEqual([text]);
    expect(withShortFirstChunk(splitSentences(PARAGRAPH), 0)).toEqual(splitSentences(PARAGRAPH));
    expect(withShortFirstChunk([], 6)).toEqual([]);
  });

  it("a long single sentence is cut too (the rule is the word count, not the sentence count)", () => {
    const long = `${Array.from({ length: 30 }, (_, i) => `word${i}`).join(" ")}.`;
    expect(withShortFirstChunk([long], 6)[0]).toBe("word0 word1 word2 word3 word4 word5");
  });
});
