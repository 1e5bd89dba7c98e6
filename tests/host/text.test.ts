import { describe, expect, it } from "vitest";
import { hasSpeakableContent, normalizeWhitespace, splitSentences } from "../../core/text/sentences.ts";

describe("text pipeline", () => {
  it("normalises whitespace", () => {
    expect(normalizeWhitespace("  Hello\n\n\tworld \u00a0 again\u200b. ")).toBe("Hello world again.");
  });

  it("splits sentences, keeping their punctuation", () => {
    expect(splitSentences("Hello there. How are you? I'm fine! Thanks")).toEqual(["Hello there.", "How are you?", "I'm fine!", "Thanks"]);
  });

  it("does not split inside decimal numbers", () => {
    expect(splitSentences("It costs 3.50 dollars. Cheap.")).toEqual(["It costs 3.50 dollars.", "Cheap."]);
  });

  it("cuts very long sentences at clause punctuation, then spaces", () => {
    const long = Array.from({ length: 60 }, (_, i) => `clause number ${i}`).join(", ") + ".";
    const parts = splitSentences(long, "en", 100);
    expect(parts.length).toBeGreaterThan(5);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(100);
    expect(parts.join(" ").replace(/\s+/g, " ")).toBe(long);
  });

  it("knows when there is nothing to speak", () => {
    expect(hasSpeakableContent(" ... !? ")).toBe(false);
    expect(hasSpeakableContent("42")).toBe(true);
    expect(hasSpeakableContent("日本")).toBe(true);
  });
});
