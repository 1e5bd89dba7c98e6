/** AllTalk text filtering and narrator segmentation. */
import { describe, expect, it } from "vitest";
import { decodeEntities, filterText } from "../../core/text/filter.ts";
import { parseNarratorMode, segmentNarration } from "../../core/text/narrator.ts";

describe("text_filtering", () => {
  it("none leaves the text untouched", () => {
    const s = "<b>Hi</b> &amp; 😀 *waves*";
    expect(filterText(s, "none")).toBe(s);
  });

  it("html strips tags, keeps line breaks and decodes entities", () => {
    expect(filterText("<p>Hello&nbsp;<b>there</b>,</p><p>&quot;friend&quot; &#8211; &#x263A; 5 &lt; 6</p><script>alert(1)</script>", "html")).toBe(
      'Hello there,\n"friend" – ☺ 5 < 6',
    );
    expect(filterText("one<br>two<br/>three", "html")).toBe("one\ntwo\nthree");
  });

  it('standard decodes entities, straightens quotes, drops emoji, markdown and symbols, keeps * and "', () => {
    const s = "&quot;Hi!&quot; she said 😀 ** *smiles* — “really”?!? # ## `code` [link](http://x.y) ~~done~~ <3 ♥";
    expect(filterText(s, "standard")).toBe('"Hi!" she said *smiles* — "really"? code link done 3');
  });

  it("standard keeps numbers, currency and ordinary punctuation, collapses repeats", () => {
    expect(filterText("It costs $3.50 (about €3)... Wow!!! Right?? 50% off; ok: yes", "standard")).toBe(
      "It costs $3.50 (about €3)… Wow! Right? 50% off; ok: yes",
    );
    expect(filterText("Grüße, Ñandú — 東京 и Москва", "standard")).toBe("Grüße, Ñandú — 東京 и Москва");
  });

  it("entity decoding leaves unknown entities and rejects surrogates", () => {
    expect(decodeEntities("&bogus; &#55296; &#65; &AMP;")).toBe("&bogus;  A &");
  });
});

describe("narrator segmentation", () => {
  const text = '*She looks up.* "Hello there," she says. *Smiles.* "How are you?"';

  it("narration in asterisks, speech in quotes, the rest as text_not_inside says", () => {
    expect(segmentNarration(text, { narrator: true, textNotInside: "character" })).toEqual([
      { role: "narrator", text: "She looks up." },
      { role: "character", text: "Hello there, she says." },
      { role: "narrator", text: "Smiles." },
      { role: "character", text: "How are you?" },
    ]);
    expect(segmentNarration(text, { narrator: true, textNotInside: "narrator" })).toEqual([
      { role: "narrator", text: "She looks up." },
      { role: "character", text: "Hello there," },
      { role: "narrator", text: "she says. Smiles." },
      { role: "character", text: "How are you?" },
    ]);
    expect(segmentNarration(text, { narrator: true, textNotInside: "silent" }).map((s) => s.text)).toEqual([
      "She looks up.",
      "Hello there,",
      "Smiles.",
      "How are you?",
    ]);
  });

  it("silent narrator drops narration; narrator off makes everything the character", () => {
    expect(segmentNarration(text, { narrator: "silent", textNotInside: "character" })).toEqual([
      { role: "character", text: "Hello there, she says. How are you?" },
    ]);
    expect(segmentNarration(text, { narrator: "silent", textNotInside: "narrator" })).toEqual([{ role: "character", text: "Hello there, How are you?" }]);
    expect(segmentNarration(text, { narrator: false, textNotInside: "character" })).toEqual([
      { role: "character", text: "She looks up. Hello there, she says. Smiles. How are you?" },
    ]);
  });

  it("typographic quotes, unclosed markers and empty parts", () => {
    expect(segmentNarration("“Hi.” *nods", { narrator: true, textNotInside: "character" })).toEqual([
      { role: "character", text: "Hi." },
      { role: "narrator", text: "nods" },
    ]);
    expect(segmentNarration('** "" ... *  * "Yes"', { narrator: true, textNotInside: "narrator" })).toEqual([{ role: "character", text: "Yes" }]);
    expect(segmentNarration("", { narrator: true, textNotInside: "character" })).toEqual([]);
  });

  it("quotes inside narration stay narration", () => {
    expect(segmentNarration('*He reads the sign: "Closed".* Oh.', { narrator: true, textNotInside: "character" })).toEqual([
      { role: "narrator", text: 'He reads the sign: "Closed".' },
      { role: "character", text: "Oh." },
    ]);
  });

  it("parses narrator_enabled", () => {
    expect(["true", "False", "SILENT", "", undefined, "maybe"].map(parseNarratorMode)).toEqual([true, false, "silent", false, false, undefined]);
  });
});
