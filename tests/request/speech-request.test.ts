/**
 * The one request validator: each limit in one place, errors naming the field in each
 * surface's vocabulary, and a result only it can make (the pipeline's input type).
 */
import { describe, expect, it } from "vitest";
import { ChorusError } from "../../core/errors.ts";
import { SEMITONES } from "../../core/request/names.ts";
import { PROSODY_MAX, PROSODY_MIN, RAW_TEXT_FACTOR, checkRawText, validateSpeech, type SpeechRequest } from "../../core/request/speech-request.ts";
import type { SpeechPipeline } from "../../core/synth/pipeline.ts";

const LIMITS = { maxLength: 100 };

/** The error `validateSpeech` throws for `input` (fails the test when it throws none). */
function refusal(input: unknown, names = {}): ChorusError {
  try {
    validateSpeech(input, LIMITS, names);
  } catch (err) {
    expect(err).toBeInstanceOf(ChorusError);
    return err as ChorusError;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe("text limits", () => {
  it("normalises whitespace, then holds the text to text.maxLength (413)", () => {
    expect(validateSpeech({ text: "  Hello \n\n  world.  " }, LIMITS).text).toBe("Hello world.");
    expect(validateSpeech({ text: "a".repeat(100) }, LIMITS).text).toHaveLength(100);
    expect(refusal({ text: "a".repeat(101) })).toMatchObject({
      code: "CHORUS_ERR_TEXT_TOO_LONG",
      statusCode: 413,
      field: "text",
      message: "text: is 101 characters; the limit is 100",
    });
    // Whitespace that normalising removes does not count against the limit...
    expect(validateSpeech({ text: `${"a ".repeat(50)}${" ".repeat(200)}` }, LIMITS).text.length).toBeLessThanOrEqual(100);
  });

  it("refuses raw text over RAW_TEXT_FACTOR times the limit before any work on it", () => {
    const raw = `Hi.${" ".repeat(LIMITS.maxLength * RAW_TEXT_FACTOR)}`;
    expect(refusal({ text: raw })).toMatchObject({
      code: "CHORUS_ERR_TEXT_TOO_LONG",
      field: "text",
      message: expect.stringContaining(`the limit before filtering is ${LIMITS.maxLength * RAW_TEXT_FACTOR}`),
    });
    expect(() => checkRawText("x".repeat(400), LIMITS)).not.toThrow();
    expect(() => checkRawText("x".repeat(401), LIMITS, { text: "text_input" })).toThrow(expect.objectContaining({ field: "text_input" }));
  });

  it.each([[""], ["   "], ["  ...  "], ["\n\t"]])("%j has nothing to speak (400 CHORUS_ERR_TEXT_EMPTY)", (text) => {
    expect(refusal({ text })).toMatchObject({ code: "CHORUS_ERR_TEXT_EMPTY", statusCode: 400, field: "text" });
  });

  it("a lone surrogate is a 400 saying where it is", () => {
    expect(refusal({ text: "abc \ud800 def." })).toMatchObject({
      code: "CHORUS_ERR_REQUEST_INVALID",
      field: "text",
      message: expect.stringMatching(/lone surrogate, U\+D800, at position 4/),
    });
    expect(validateSpeech({ text: "emoji \ud83d\ude00 fine." }, LIMITS).text).toContain("\ud83d\ude00");
  });
});

describe("speed and pitch", () => {
  it.each([
    ["speed", PROSODY_MIN, true],
    ["speed", PROSODY_MAX, true],
    ["speed", 0.2, false],
    ["speed", 4.01, false],
    ["pitch", PROSODY_MIN, true],
    ["pitch", 9, false],
  ] as const)("%s %d -> accepted: %s", (field, value, ok) => {
    if (ok) expect(validateSpeech({ text: "Hi.", [field]: value }, LIMITS)[field]).toBe(value);
    else
      expect(refusal({ text: "Hi.", [field]: value })).toMatchObject({
        code: "CHORUS_ERR_REQUEST_INVALID",
        field,
        message: expect.stringContaining("must be between 0.25 and 4"),
      });
  });

  it("a value of the wrong type, or not finite, names the field", () => {
    expect(refusal({ text: "Hi.", speed: "fast" })).toMatchObject({ field: "speed", message: "speed: must be a number" });
    expect(refusal({ text: "Hi.", speed: Number.NaN })).toMatchObject({ field: "speed", message: "speed: must be a number" });
    expect(refusal({ text: "Hi.", pitch: Number.POSITIVE_INFINITY })).toMatchObject({ field: "pitch", message: "pitch: must be a number" });
  });
});

describe("the other fields", () => {
  it("applies the defaults and keeps what was given", () => {
    const r = validateSpeech({ text: "Hi.", engine: "espeak", voice: "en-us", options: { wordGap: 2 }, fallback: false, keepAliveSeconds: -1 }, LIMITS);
    expect(r).toMatchObject({
      text: "Hi.",
      engine: "espeak",
      voice: "en-us",
      options: { wordGap: 2 },
      fallback: false,
      keepAliveSeconds: -1,
      format: "wav",
      stream: false,
    });
    expect(Object.isFrozen(r)).toBe(true);
  });

  it.each([
    [{ text: "Hi.", engine: "" }, "engine"],
    [{ text: "Hi.", voice: 3 }, "voice"],
    [{ text: "Hi.", format: "ogg" }, "format"],
    [{ text: "Hi.", stream: "yes" }, "stream"],
    [{ text: "Hi.", options: [1] }, "options"],
    [{ text: "Hi.", keepAliveSeconds: -2 }, "keepAliveSeconds"],
    [{ text: "Hi.", colour: "blue" }, "colour"],
    [{ voice: "x" }, "text"],
    [[], "(body)"],
    [null, "(body)"],
  ])("%j -> 400 naming %s", (input, field) => {
    expect(refusal(input)).toMatchObject({ code: "CHORUS_ERR_REQUEST_INVALID", field });
  });
});

describe("field names in each surface's vocabulary", () => {
  const cases: [string, Record<string, unknown>, unknown, string, RegExp?][] = [
    ["a renamed keepAliveSeconds", { keepAliveSeconds: "keepAlive" }, { text: "Hi.", keepAliveSeconds: -5 }, "keepAlive", /^keepAlive: /],
    ["OpenAI input (too long)", { text: "input" }, { text: "a".repeat(101) }, "input", /^input: is 101 characters/],
    ["OpenAI input (empty)", { text: "input" }, { text: "  " }, "input", /^input: has nothing to speak/],
    ["OpenAI response_format", { format: "response_format" }, { text: "Hi.", format: "ogg" }, "response_format", /^response_format: must be one of/],
    ["OpenAI model", { engine: "model" }, { text: "Hi.", engine: "" }, "model"],
    ["AllTalk text_input", { text: "text_input" }, { text: "..." }, "text_input"],
    ["AllTalk narrator voice", { voice: "narrator_voice_gen" }, { text: "Hi.", voice: "" }, "narrator_voice_gen"],
    ["chorus say --speed", { speed: "--speed" }, { text: "Hi.", speed: 5 }, "--speed", /^--speed: must be between 0.25 and 4, got 5$/],
  ];
  it.each(cases)("%s", (_name, names, input, field, message) => {
    const err = refusal(input, names);
    expect(err.field).toBe(field);
    if (message) expect(err.message).toMatch(message);
  });

  it("AllTalk's pitch is said in semitones, as its clients send it", () => {
    const err = refusal({ text: "Hi.", pitch: 2 ** (30 / 12) }, { pitch: { name: "pitch", ...SEMITONES } });
    expect(err).toMatchObject({ field: "pitch", message: "pitch: must be between -24 and 24 semitones, got 30" });
    expect(validateSpeech({ text: "Hi.", pitch: 2 ** (-24 / 12) }, LIMITS, { pitch: { name: "pitch", ...SEMITONES } }).pitch).toBe(PROSODY_MIN);
  });
});

describe("the brand", () => {
  it("the pipeline's start takes only a validated request (a plain object does not type-check)", () => {
    type StartInput = Parameters<SpeechPipeline["start"]>[0];
    const plain = { text: "Hi.", format: "wav" as const, stream: false };
    // @ts-expect-error an unvalidated object cannot reach the pipeline (tsc --noEmit fails if it could)
    const unchecked: StartInput = plain;
    const checked: SpeechRequest = validateSpeech(plain, LIMITS);
    const ok: StartInput = checked;
    expect(unchecked.text).toBe(ok.text);
  });
});
