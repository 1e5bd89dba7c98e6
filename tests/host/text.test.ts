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
    const long = `${Array.from({ length: 60 }, (_, i) => `clause number ${i}`).join(", ")}.`;
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

describe("sentence splitting of long texts", () => {
  /** Intl.Segmenter over the whole text at once: what the windowed splitter must equal. */
  const whole = (text: string) => [...new Intl.Segmenter("en", { granularity: "sentence" }).segment(text)].map((s) => s.segment.trim()).filter(Boolean);
  const pieces = [
    "The meeting is at 3:45 p.m. on Jan. 5th, 2024; bring $12.50 and 3 copies.",
    "Dr. Smith lives at 221B Baker St. in London.",
    'She said, "I\'m not sure." Then she left!',
    "Wait... what? No -- really — I mean it.",
    "“Curly quotes” and ‘single ones’ … and an ellipsis character.",
    "今天天气很好，我们去公园散步吧。你好吗？",
  ];

  it("gives the same sentences as segmenting the whole text at once", () => {
    for (let seed = 1; seed <= 40; seed++) {
      let x = seed;
      let text = "";
      while (text.length < 9000) {
        x = (x * 1103515245 + 12345) % 2147483648;
        text += `${pieces[x % pieces.length]} `;
      }
      text = normalizeWhitespace(text);
      expect(splitSentences(text)).toEqual(whole(text));
    }
  });

  it("keeps a break undecided at a window's end for the next window ('Jan. 5' vs 'Jan. 5th')", () => {
    // Put "Jan. 5th" across the 2000-character window boundary at every offset near it.
    for (let pad = 1940; pad < 2010; pad++) {
      const filler = "Short one. "
        .repeat(200)
        .slice(0, pad)
        .replace(/\s*\S*$/, "");
      const text = `${filler} The meeting is on Jan. 5th, at noon. Bring copies.`;
      expect(splitSentences(text)).toEqual(whole(text));
    }
  });

  it("takes time linear in the length of the text, even for 'Mr. Mr. Mr. ...'", () => {
    // The same text both ways, 16 pieces of 5,000 characters or 80,000 at once, timed in this
    // process's CPU time (other processes taking the cores do not count), the best of 5 runs.
    // Linear: about the same; quadratic: about 16 times as long at once. The bound is their
    // geometric mean (wall-time ratios of different lengths failed under a CPU hog).
    const cpuMs = (run: () => void) => {
      let best = Infinity;
      for (let i = 0; i < 5; i++) {
        const start = process.cpuUsage();
        run();
        const used = process.cpuUsage(start);
        best = Math.min(best, (used.user + used.system) / 1000);
      }
      return best;
    };
    const piece = "Mr. ".repeat(5000 / 4);
    const whole = "Mr. ".repeat(80_000 / 4);
    cpuMs(() => splitSentences(piece)); // warm up
    const pieces = cpuMs(() => {
      for (let i = 0; i < 16; i++) splitSentences(piece);
    });
    expect(cpuMs(() => splitSentences(whole)) / Math.max(pieces, 0.05)).toBeLessThan(4);
  });
});
