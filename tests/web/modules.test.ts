/**
 * The web app's pure modules (core/web/js/*.js), run in Node: voice lists (the defects of
 * the old page: Afrikaans preselected, no search, names too wide for a phone), narrator
 * segmentation (the same parts as the server's), PCM and WAV, memory bars, SSE parsing.
 */
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ES modules without type declarations
import { filterVoices, languagesOf, pickVoice, shortName, voiceLabel } from "../../core/web/js/voices.js";
// @ts-expect-error plain ES module
import { segmentNarration } from "../../core/web/js/narrator.js";
// @ts-expect-error plain ES module
import { PcmDecoder, resample, wavBytes } from "../../core/web/js/pcm.js";
// @ts-expect-error plain ES module
import { formatMb, memorySegments, timeUntil } from "../../core/web/js/memory.js";
// @ts-expect-error plain ES module
import { SseParser } from "../../core/web/js/sse.js";
// @ts-expect-error plain ES module
import { servedBy } from "../../core/web/js/speak.js";
import { headerValue } from "../../core/server/routes/speech.ts";
import { segmentNarration as serverSegments, type NotInside } from "../../core/text/narrator.ts";

const ESPEAK_LIKE = [
  { id: "af", name: "Afrikaans", languages: ["af"] },
  { id: "chr-us-qaaa-x-west", name: "Cherokee //https://github.com/espeak-ng/espeak-ng/blob/master/docs/voices.md", languages: ["chr-us-qaaa-x-west"] },
  { id: "de", name: "German", languages: ["de"] },
  { id: "en-gb", name: "English (Great Britain)", languages: ["en-gb", "en"] },
  { id: "en-us", name: "English (America)", languages: ["en-us", "en"] },
];

describe("voices", () => {
  it("preselects the engine's default voice, not the alphabetically first (the Afrikaans defect)", () => {
    expect(pickVoice(ESPEAK_LIKE, { engineDefault: "en-us" })).toBe("en-us");
    expect(pickVoice(ESPEAK_LIKE, { previous: "de", engineDefault: "en-us" })).toBe("de");
    expect(pickVoice(ESPEAK_LIKE, { previous: "gone", engineDefault: "en-us" })).toBe("en-us");
    expect(pickVoice(ESPEAK_LIKE, {})).toBe("af");
    expect(pickVoice([], { engineDefault: "en-us" })).toBe("");
  });

  it("searches by name, id and language name, and filters by language (the no-search defect)", () => {
    expect(filterVoices(ESPEAK_LIKE, { query: "germ" }).map((v: { id: string }) => v.id)).toEqual(["de"]);
    expect(filterVoices(ESPEAK_LIKE, { query: "english brit" }).map((v: { id: string }) => v.id)).toEqual(["en-gb"]);
    expect(filterVoices(ESPEAK_LIKE, { query: "EN-US" }).map((v: { id: string }) => v.id)).toEqual(["en-us"]);
    expect(filterVoices(ESPEAK_LIKE, { language: "en" }).map((v: { id: string }) => v.id)).toEqual(["en-gb", "en-us"]);
    expect(filterVoices(ESPEAK_LIKE, { language: "en", query: "america" }).map((v: { id: string }) => v.id)).toEqual(["en-us"]);
    expect(filterVoices(ESPEAK_LIKE, { query: "nothing-like-this" })).toEqual([]);
    expect(languagesOf(ESPEAK_LIKE)[0]).toEqual({ code: "en", count: 2 });
  });

  it("shortens long names (the 777 px defect) and keeps short ones", () => {
    expect(shortName(ESPEAK_LIKE[1]!.name)).toBe("Cherokee");
    expect(shortName("English (America)")).toBe("English (America)");
    expect(shortName("Lessac [en_US-lessac-medium]")).toBe("Lessac");
    expect(shortName("A".repeat(80))).toHaveLength(36);
    expect(shortName("A".repeat(80)).endsWith("…")).toBe(true);
    expect(voiceLabel(ESPEAK_LIKE[1]).length).toBeLessThan(40);
    expect(shortName("[only brackets]")).toBe("[only brackets]");
  });
});

describe("narrator mode", () => {
  const texts = [
    '*She looks up.* "Hello there!" she said. *Silence.* "Bye."',
    "No markers at all.",
    '"Unclosed quote runs to the end',
    '*narration with "quotes" inside* and after',
    "“Curly quotes” *and* ‘single’ ones",
    '* * "" *!!* "ok"',
  ];
  it("splits text into the same parts as the server's AllTalk narrator", () => {
    for (const text of texts) {
      for (const textNotInside of ["character", "narrator", "silent"] as NotInside[]) {
        for (const narrator of [true, false, "silent"] as const) {
          expect(segmentNarration(text, { narrator, textNotInside }), `${text} ${narrator} ${textNotInside}`).toEqual(
            serverSegments(text, { narrator, textNotInside }),
          );
        }
      }
    }
    expect(segmentNarration(texts[0], { narrator: true, textNotInside: "narrator" })).toEqual([
      { role: "narrator", text: "She looks up." },
      { role: "character", text: "Hello there!" },
      { role: "narrator", text: "she said. Silence." },
      { role: "character", text: "Bye." },
    ]);
  });
});

describe("PCM and WAV", () => {
  it("decodes 16-bit samples split anywhere by the network", () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    const bytes = new Uint8Array(samples.buffer);
    const decoder = new PcmDecoder();
    const out: number[] = [];
    for (const cut of [
      [0, 3],
      [3, 4],
      [4, 9],
      [9, 12],
    ])
      out.push(...decoder.push(bytes.subarray(cut[0], cut[1])));
    expect(out).toEqual([...samples]);
  });

  it("writes a WAV header that describes the samples", () => {
    const wav = wavBytes(22050, [Int16Array.from([1, 2]), Int16Array.from([3])]);
    const view = new DataView(wav.buffer);
    expect(Buffer.from(wav.subarray(0, 4)).toString()).toBe("RIFF");
    expect(view.getUint32(24, true)).toBe(22050);
    expect(view.getUint32(40, true)).toBe(6);
    expect([view.getInt16(44, true), view.getInt16(46, true), view.getInt16(48, true)]).toEqual([1, 2, 3]);
  });

  it("resamples to the clip's rate", () => {
    expect(resample(Int16Array.from([0, 100, 200, 300]), 16000, 32000).length).toBe(8);
    expect([...resample(Int16Array.from([0, 100, 200, 300]), 16000, 8000)]).toEqual([0, 200]);
  });
});

describe("memory bar", () => {
  it("splits a card into others, reserve, resident and per-request holdings, and free", () => {
    const segs = memorySegments({
      id: "cuda:0",
      kind: "cuda",
      totalMb: 4096,
      freeMb: 1216,
      heldByOthersMb: 1024,
      reserveMb: 256,
      holdings: [{ engine: "a", profile: "gpu", residentMb: 1600, transientMb: 200 }],
    });
    expect(segs.map((s: { kind: string; mb: number }) => [s.kind, s.mb])).toEqual([
      ["others", 1024],
      ["reserve", 256],
      ["resident", 1600],
      ["transient", 200],
      ["free", 1016],
    ]);
    expect(segs.reduce((n: number, s: { percent: number }) => n + s.percent, 0)).toBeLessThanOrEqual(100.0001);
  });

  it("never draws more than the card on an over-committed device", () => {
    const segs = memorySegments({
      kind: "cuda",
      totalMb: 1000,
      freeMb: 0,
      heldByOthersMb: 800,
      reserveMb: 100,
      holdings: [{ engine: "a", profile: "g", residentMb: 500, transientMb: 0 }],
    });
    expect(segs.reduce((n: number, s: { percent: number }) => n + s.percent, 0)).toBeCloseTo(100);
    expect(segs.find((s: { kind: string }) => s.kind === "free")).toBeUndefined();
  });

  it("formats sizes and countdowns", () => {
    expect(formatMb(512)).toBe("512 MB");
    expect(formatMb(4096)).toBe("4.0 GB");
    expect(timeUntil(new Date(10_000 + 125_000).toISOString(), 10_000)).toBe("2 m 05 s");
    expect(timeUntil(null)).toBeNull();
  });
});

describe("server-sent events parser", () => {
  it("reassembles events cut anywhere, with ids, retry, comments and multi-line data", () => {
    const stream = 'retry: 1500\n\n: comment\nevent: decision\nid: 7\ndata: {"a":\ndata: 1}\n\nevent: snapshot\r\ndata: {}\r\n\r\n';
    const parser = new SseParser();
    const got: unknown[] = [];
    for (let i = 0; i < stream.length; i += 5) got.push(...parser.push(stream.slice(i, i + 5)));
    expect(got).toEqual([
      { event: "decision", data: '{"a":\n1}', id: "7" },
      { event: "snapshot", data: "{}", id: "7" },
    ]);
    expect(parser.retry).toBe(1500);
  });
});

describe("who served a clip (X-Chorus-* headers)", () => {
  it("decodes what the server percent-encoded, and shows other values as they are", () => {
    const res = new Response("", {
      headers: {
        "X-Chorus-Engine": "xtts",
        "X-Chorus-Profile": "gpu",
        "X-Chorus-Voice": headerValue("さくら"),
        "X-Chorus-Fallback": headerValue("50% of the card held"),
        "X-Sample-Rate": "24000",
      },
    });
    expect(servedBy(res)).toEqual({ engine: "xtts", profile: "gpu", voice: "さくら", fallback: "50% of the card held", sampleRate: 24000 });
    expect(servedBy(new Response("", { headers: { "X-Chorus-Voice": "bad%zz" } })).voice).toBe("bad%zz");
  });
});
