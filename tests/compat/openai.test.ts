/** The OpenAI-compatible API through the official `openai` SDK (v6) and raw requests as real clients send them. */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIO_FORMATS } from "../../core/audio/output/formats.ts";
import { decodeAudio, rmsOf } from "./decode.ts";
import { startChorus, type RunningChorus } from "./server.ts";

let chorus: RunningChorus;
let client: OpenAI;
const TEXT = "Hello from Chorus. This is a test of the speech endpoint.";
const CODEC = { mp3: /mp3/, opus: /opus/, aac: /aac/, flac: /flac/, wav: /pcm_s16le/, pcm: /pcm_s16le/ } as const;
const TYPE = { mp3: "audio/mpeg", opus: "audio/ogg", aac: "audio/aac", flac: "audio/flac", wav: "audio/wav", pcm: "audio/pcm;rate=24000" } as const;

beforeAll(async () => {
  chorus = await startChorus();
  client = new OpenAI({ baseURL: `${chorus.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => chorus?.close());

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${chorus.url}/v1/audio/speech`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

async function expectSpeechAudio(bytes: Buffer, format: keyof typeof CODEC, rate = 24000) {
  const decoded = await decodeAudio(bytes, 22050, format === "pcm" ? ["-f", "s16le", "-ar", String(rate), "-ac", "1"] : undefined);
  expect(decoded.streamInfo).toMatch(CODEC[format]);
  expect(decoded.durationSeconds).toBeGreaterThan(1.5); // ~10 words
  expect(decoded.durationSeconds).toBeLessThan(10);
  expect(rmsOf(decoded.samples)).toBeGreaterThan(300);
}

describe("POST /v1/audio/speech via the openai SDK", () => {
  it.each(AUDIO_FORMATS)("%s decodes to speech", async (format) => {
    const response = await client.audio.speech.create({ model: "tts-1", voice: "alloy", input: TEXT, response_format: format });
    expect(response.headers.get("content-type")).toBe(TYPE[format]);
    if (format === "pcm") expect(response.headers.get("x-sample-rate")).toBe("24000");
    await expectSpeechAudio(Buffer.from(await response.arrayBuffer()), format);
  });

  it("errors come back as OpenAI errors through the SDK", async () => {
    const err = await client.audio.speech.create({ model: "tts-1", voice: "nobody-at-all", input: TEXT }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({ param: "voice", code: "voice_not_found", type: "not_found_error" });
  });

  it("sse: speech.audio.delta events with base64 audio, then speech.audio.done", async () => {
    const res = await post({ model: "tts-1", voice: "nova", input: TEXT, response_format: "mp3", stream_format: "sse" });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (await res.text())
      .split("\n\n")
      .filter(Boolean)
      .map((e) => JSON.parse(e.replace(/^data: /, "")) as { type: string; audio?: string; usage?: unknown });
    expect(events.length).toBeGreaterThan(2);
    expect(events.slice(0, -1).every((e) => e.type === "speech.audio.delta" && typeof e.audio === "string")).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "speech.audio.done", usage: { input_tokens: expect.any(Number) } });
    await expectSpeechAudio(Buffer.concat(events.slice(0, -1).map((e) => Buffer.from(e.audio!, "base64"))), "mp3");
  });
});

describe("requests shaped as real clients send them", () => {
  it("SillyTavern's OpenAI-compatible provider: mp3, empty Bearer key, untrimmed voice", async () => {
    const res = await post({ input: TEXT, response_format: "mp3", voice: " nova", speed: 1, model: "tts-1" }, { authorization: "Bearer " });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/mpeg");
    expect(res.headers.get("x-chorus-voice")).toBe("en-us");
    await expectSpeechAudio(Buffer.from(await res.arrayBuffer()), "mp3");
  });

  it("Open WebUI: no response_format gives mp3; extra fields accepted", async () => {
    const res = await post({ input: TEXT, voice: "alloy", model: "tts-1", some_admin_extra: { a: 1 } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/mpeg");
    await expectSpeechAudio(Buffer.from(await res.arrayBuffer()), "mp3");
    const voices = await (await fetch(`${chorus.url}/v1/audio/voices`)).json();
    expect(voices.voices).toEqual(
      expect.arrayContaining([
        { id: "alloy", name: "alloy" },
        { id: "espeak:en-us", name: expect.stringContaining("English") },
      ]),
    );
    const models = await (await fetch(`${chorus.url}/v1/audio/models`)).json();
    expect(models.models.map((m: { id: string }) => m.id)).toEqual(expect.arrayContaining(["tts-1", "tts-1-hd", "espeak", "flite"]));
    expect(models.models[0]).toEqual({ id: "tts-1", name: expect.any(String) });
  });

  it("engine ids as models, engine:voice, voice objects and speed", async () => {
    const flite = await post({ model: "flite", voice: { id: "rms" }, input: TEXT, response_format: "wav" });
    expect(flite.status).toBe(200);
    expect(flite.headers.get("x-chorus-engine")).toBe("flite");
    expect(flite.headers.get("x-chorus-voice")).toBe("rms");
    const picked = await post({ model: "tts-1", voice: "flite:awb", input: TEXT, response_format: "wav" });
    expect([picked.headers.get("x-chorus-engine"), picked.headers.get("x-chorus-voice")]).toEqual(["flite", "awb"]);
    const slow = await decodeAudio(
      Buffer.from(await (await post({ model: "espeak", voice: "en-us", input: TEXT, response_format: "wav", speed: 0.5 })).arrayBuffer()),
    );
    const fast = await decodeAudio(
      Buffer.from(await (await post({ model: "espeak", voice: "en-us", input: TEXT, response_format: "wav", speed: 2 })).arrayBuffer()),
    );
    expect(slow.durationSeconds).toBeGreaterThan(fast.durationSeconds * 2);
  });

  it("input over 4096 characters is the SDK's BadRequestError, as from OpenAI", async () => {
    const err = await client.audio.speech.create({ model: "tts-1", voice: "alloy", input: "word ".repeat(900) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("string_above_max_length");
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("input");
  });

  it("models.retrieve works for listed models and is NotFoundError otherwise", async () => {
    const model = await client.models.retrieve("tts-1");
    expect(model).toMatchObject({ id: "tts-1", object: "model", owned_by: "chorus:espeak" });
    expect((await client.models.retrieve("flite")).id).toBe("flite");
    const err = await client.models.retrieve("tts-9").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
  });

  it("an unknown model in speech.create is the same NotFoundError model_not_found as models.retrieve's", async () => {
    const err = await client.audio.speech.create({ model: "tts-9", voice: "alloy", input: "Hi." }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject({ code: "model_not_found", param: "model" });
    const voices = await fetch(`${chorus.url}/v1/audio/voices?model=tts-9`);
    expect((await voices.json()).error).toMatchObject({ code: "model_not_found", param: "model" });
    // an unknown engine named in `engine:voice` is about the voice, not the model
    expect((await (await post({ model: "tts-1", input: "hi", voice: "nope:x" })).json()).error).toMatchObject({ code: "engine_not_found", param: "voice" });
  });

  it("GET /v1/models lists model names and engines", async () => {
    const body = await (await fetch(`${chorus.url}/v1/models`)).json();
    expect(body.object).toBe("list");
    expect(body.data).toEqual(expect.arrayContaining([expect.objectContaining({ id: "tts-1", object: "model" }), expect.objectContaining({ id: "espeak" })]));
  });
});

describe("bad input -> OpenAI error naming the parameter", () => {
  const cases: [string, unknown, number, string | null][] = [
    ["missing input", { model: "tts-1", voice: "alloy" }, 400, "input"],
    ["input of the wrong type", { model: "tts-1", voice: "alloy", input: 42 }, 400, "input"],
    ["empty input", { model: "tts-1", voice: "alloy", input: "   " }, 400, "input"],
    ["input over 4096 characters (400, as OpenAI)", { model: "tts-1", voice: "alloy", input: "word ".repeat(900) }, 400, "input"],
    ["missing voice", { model: "tts-1", input: "hi" }, 400, "voice"],
    ["empty voice", { model: "tts-1", input: "hi", voice: " " }, 400, "voice"],
    ["unknown format", { model: "tts-1", input: "hi", voice: "alloy", response_format: "ogg" }, 400, "response_format"],
    ["speed out of range", { model: "tts-1", input: "hi", voice: "alloy", speed: 9 }, 400, "speed"],
    ["bad stream_format", { model: "tts-1", input: "hi", voice: "alloy", stream_format: "ws" }, 400, "stream_format"],
    ["unknown model", { model: "tts-9", input: "hi", voice: "alloy" }, 404, "model"],
    ["unknown engine in engine:voice", { model: "tts-1", input: "hi", voice: "nope:x" }, 404, "voice"],
    ["unknown voice", { model: "tts-1", input: "hi", voice: "zz-top" }, 404, "voice"],
    ["a JSON array (param null, as OpenAI says for the whole body)", [1, 2], 400, null],
  ];
  it.each(cases)("%s", async (_name, body, status, param) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    const json = await res.json();
    expect(json.error).toMatchObject({ message: expect.any(String), type: expect.any(String), param, code: expect.any(String) });
  });

  it.each([
    [null, "null"],
    ["", '""'],
    [true, "true"],
    [[], "[]"],
  ])("speed %j is not a number (it was read as 0 or 1)", async (speed, shown) => {
    const res = await post({ model: "tts-1", input: "hi", voice: "alloy", speed });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ param: "speed", code: "request_invalid", message: `speed: must be a number, got ${shown}` });
  });

  it("instructions of the wrong type: the message says what it must be", async () => {
    const res = await post({ model: "tts-1", input: "hi", voice: "alloy", instructions: 5 });
    expect((await res.json()).error).toMatchObject({ param: "instructions", message: "instructions: must be a string" });
  });

  it("speed as a numeric string is read as the number", async () => {
    const res = await post({ model: "tts-1", input: "hi", voice: "alloy", speed: " 1.5 ", response_format: "wav" });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const slow = await post({ model: "tts-1", input: "hi", voice: "alloy", speed: "0.1" });
    expect((await slow.json()).error).toMatchObject({ param: "speed", message: "speed: must be between 0.25 and 4, got 0.1" });
  });

  it("unknown /v1/ routes answer 404 in OpenAI's shape", async () => {
    const res = await fetch(`${chorus.url}/v1/audio/transcriptions`, { method: "POST" });
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatchObject({ type: "not_found_error", code: "route_not_found", param: null });
  });

  it("malformed JSON", async () => {
    const res = await post("{not json");
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ type: "invalid_request_error", code: "request_malformed" });
  });
});
