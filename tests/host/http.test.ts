/** Every native route through fastify's inject, including bad input. */
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../core/server/app.ts";
import type { Host } from "../../core/host.ts";
import { decodeWav, expectSpeech } from "../helpers/audio.ts";
import { testHost } from "../helpers/host.ts";

const FIXTURES = path.join(import.meta.dirname, "fixtures", "plugins");

let host: Host;
let app: FastifyInstance;

beforeAll(async () => {
  host = testHost({ text: { maxLength: 300 }, engines: { dirs: ["engines", FIXTURES] } });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

const speech = (payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: "POST", url: "/api/speech", payload: payload as object, headers });

describe("GET routes", () => {
  it("/health", async () => {
    const res = await app.inject("/health");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: "ok", defaultEngine: "espeak" });
  });

  it("/api/engines lists engines with state, capabilities, resources and errors", async () => {
    const res = await app.inject("/api/engines");
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const espeak = body.engines.find((e: { id: string }) => e.id === "espeak");
    expect(espeak).toMatchObject({ name: "eSpeak NG", version: "1.0.0", default: true, capabilities: { speed: true, pitch: true }, errors: [] });
    expect(espeak.resources.profiles[0]).toMatchObject({ name: "cpu", device: "cpu" });
    expect(["available", "loaded"]).toContain(espeak.state);
    expect(body.engines.map((e: { id: string }) => e.id)).toEqual(expect.arrayContaining(["espeak", "flite", "ticker", "failing", "broken-load"]));
  });

  it("/api/voices lists an engine's voices", async () => {
    const res = await app.inject("/api/voices?engine=flite");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ engine: "flite", voices: expect.arrayContaining(["slt", "kal"]) });
    const espeak = await app.inject("/api/voices");
    expect(espeak.json().voices).toEqual(expect.arrayContaining(["en-us", "de", "fr-fr", "cmn"]));
    expect(espeak.json().details.find((v: { id: string }) => v.id === "en-us")).toMatchObject({ name: "English (America)" });
  });

  it("/api/voices answers 404 for an unknown engine and 400 for a bad query", async () => {
    const res = await app.inject("/api/voices?engine=nope");
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: "CHORUS_ERR_ENGINE_NOT_FOUND", field: "engine" });
    expect((await app.inject("/api/voices?engine=")).statusCode).toBe(400);
  });

  it("unknown routes answer a JSON 404", async () => {
    const res = await app.inject("/api/nothing");
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("CHORUS_ERR_ROUTE_NOT_FOUND");
  });
});

describe("POST /api/speech", () => {
  it("speaks with eSpeak NG by default, as a WAV with an exact header", async () => {
    const res = await speech({ text: "Hello world. This is a test of the speech server." });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("audio/wav");
    expect(res.headers["x-chorus-engine"]).toBe("espeak");
    expect(res.headers["x-chorus-voice"]).toBe("en-us");
    const wav = decodeWav(res.rawPayload);
    expect(wav.sampleRate).toBe(22050);
    expect(wav.dataSize).toBe(res.rawPayload.length - 44);
    expect(wav.riffSize).toBe(res.rawPayload.length - 8);
    expectSpeech(wav, 10);
  });

  it("speaks with Flite and a chosen voice", async () => {
    const res = await speech({ text: "The quick brown fox jumps over the lazy dog.", engine: "flite", voice: "rms" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-chorus-voice"]).toBe("rms");
    const wav = decodeWav(res.rawPayload);
    expect(wav.sampleRate).toBe(16000);
    expectSpeech(wav, 9);
  });

  it("speed makes speech shorter", async () => {
    const text = "One two three four five six seven eight nine ten.";
    const slow = decodeWav((await speech({ text, speed: 1 })).rawPayload);
    const fast = decodeWav((await speech({ text, speed: 2 })).rawPayload);
    expect(fast.durationSeconds).toBeLessThan(slow.durationSeconds * 0.75);
  });

  it("returns raw PCM with its rate", async () => {
    const res = await speech({ text: "Raw audio please.", format: "pcm" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("audio/pcm;rate=22050");
    expect(res.headers["x-sample-rate"]).toBe("22050");
    expect(res.rawPayload.length % 2).toBe(0);
    expect(res.rawPayload.length).toBeGreaterThan(22050);
  });

  it("streams a WAV sentence by sentence", async () => {
    const res = await speech({ text: "First sentence. Second sentence. Third one.", stream: true });
    expect(res.statusCode).toBe(200);
    expect(res.headers["transfer-encoding"]).toBe("chunked");
    const wav = decodeWav(res.rawPayload);
    expect(wav.dataSize).toBe(0xffffffff);
    expectSpeech(wav, 6);
  });

  it("passes engine options and validates them against the manifest", async () => {
    const ok = await speech({ text: "Variant voice.", options: { variant: "f3", wordGap: 2 } });
    expect(ok.statusCode).toBe(200);
    const unknown = await speech({ text: "Hi.", options: { colour: "blue" } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.field).toBe("options.colour");
    const range = await speech({ text: "Hi.", options: { wordGap: 1000 } });
    expect(range.statusCode).toBe(400);
    expect(range.json().error.field).toBe("options.wordGap");
    const variant = await speech({ text: "Hi.", options: { variant: "nosuch" } });
    expect(variant.statusCode).toBe(400);
    expect(variant.json().error.field).toBe("options.variant");
  });

  it.each([
    ["malformed JSON", '{"text": ', 400, "CHORUS_ERR_REQUEST_MALFORMED", "(body)"],
    ["a JSON array", [], 400, "CHORUS_ERR_REQUEST_INVALID", "(body)"],
    ["text of the wrong type", { text: 5 }, 400, "CHORUS_ERR_REQUEST_INVALID", "text"],
    ["missing text", { voice: "en-us" }, 400, "CHORUS_ERR_REQUEST_INVALID", "text"],
    ["empty text", { text: "" }, 400, "CHORUS_ERR_TEXT_EMPTY", "text"],
    ["whitespace text", { text: "   " }, 400, "CHORUS_ERR_TEXT_EMPTY", "text"],
    ["text with nothing to speak", { text: "  ...  " }, 400, "CHORUS_ERR_TEXT_EMPTY", "text"],
    ["speed out of range", { text: "Hi", speed: 9 }, 400, "CHORUS_ERR_REQUEST_INVALID", "speed"],
    ["speed of the wrong type", { text: "Hi", speed: "fast" }, 400, "CHORUS_ERR_REQUEST_INVALID", "speed"],
    ["an unknown format", { text: "Hi", format: "ogg" }, 400, "CHORUS_ERR_REQUEST_INVALID", "format"],
    ["an unknown field", { text: "Hi", colour: "blue" }, 400, "CHORUS_ERR_REQUEST_INVALID", "colour"],
    // Fields only surfaces set are not the native body's: keepAlive is its name for keepAliveSeconds.
    ["keepAliveSeconds (the body says keepAlive)", { text: "Hi", keepAliveSeconds: 5 }, 400, "CHORUS_ERR_REQUEST_INVALID", "keepAliveSeconds"],
    ["continues (set by surfaces that split a request)", { text: "Hi", continues: true }, 400, "CHORUS_ERR_REQUEST_INVALID", "continues"],
    ["keepAlive below -1", { text: "Hi", keepAlive: -2 }, 400, "CHORUS_ERR_REQUEST_INVALID", "keepAlive"],
    ["keepAlive of the wrong type", { text: "Hi", keepAlive: "long" }, 400, "CHORUS_ERR_REQUEST_INVALID", "keepAlive"],
    ["engine of the wrong type", { text: "Hi", engine: 3 }, 400, "CHORUS_ERR_REQUEST_INVALID", "engine"],
    ["an unknown engine", { text: "Hi", engine: "nope" }, 404, "CHORUS_ERR_ENGINE_NOT_FOUND", "engine"],
    ["an unknown voice", { text: "Hi", voice: "vulcan" }, 404, "CHORUS_ERR_VOICE_NOT_FOUND", "voice"],
    ["an unknown Flite voice", { text: "Hi", engine: "flite", voice: "kevin" }, 404, "CHORUS_ERR_VOICE_NOT_FOUND", "voice"],
    ["a language Flite does not speak", { text: "Hi", engine: "flite", voice: "fr" }, 404, "CHORUS_ERR_VOICE_NOT_FOUND", "voice"],
    ["an engine:voice naming an engine that is not installed", { text: "Hi", voice: "nosuch:x" }, 404, "CHORUS_ERR_ENGINE_NOT_FOUND", "voice"],
    ["an engine:voice disagreeing with engine", { text: "Hi", engine: "espeak", voice: "flite:slt" }, 400, "CHORUS_ERR_REQUEST_INVALID", "voice"],
    ["text over the limit", { text: "word ".repeat(100) }, 413, "CHORUS_ERR_TEXT_TOO_LONG", "text"],
  ])("rejects %s", async (_name, payload, status, code, field) => {
    const res = typeof payload === "string" ? await speech(payload, { "content-type": "application/json" }) : await speech(payload);
    expect(res.statusCode).toBe(status);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.json().error).toMatchObject({ code, field });
  });

  it("an internal field is refused by name, with the unknown-field message", async () => {
    const res = await speech({ text: "Hi", engine: "ticker", continues: false });
    expect(res.json().error).toMatchObject({ code: "CHORUS_ERR_REQUEST_INVALID", field: "continues", message: "continues: unknown field" });
  });

  it("keepAlive becomes the request's keep-alive (GET /api/scheduler shows it on the instance)", async () => {
    const res = await speech({ text: "Hi.", engine: "ticker", keepAlive: -1 });
    expect(res.statusCode).toBe(200);
    const snap = (await app.inject("/api/scheduler")).json();
    expect(snap.engines.find((e: { engine: string }) => e.engine === "ticker")).toMatchObject({ keepAliveSeconds: -1 });
  });

  it("rejects a body that is not JSON", async () => {
    const res = await app.inject({ method: "POST", url: "/api/speech", payload: "text=hi", headers: { "content-type": "application/xml" } });
    expect(res.statusCode).toBe(415);
    expect(res.json().error).toMatchObject({ code: "CHORUS_ERR_REQUEST_MEDIA_TYPE", field: "(body)" });
  });

  it("answers 502 with the engine's message when the engine fails", async () => {
    const res = await speech({ text: "Hello.", engine: "failing" });
    expect(res.statusCode).toBe(502);
    expect(res.json().error).toMatchObject({ code: "CHORUS_ERR_ENGINE_FAILED", message: expect.stringContaining("synthesizer exploded") });
  });

  it("answers 503 when the engine cannot load, naming the reason", async () => {
    const res = await speech({ text: "Hello.", engine: "broken-load" });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatchObject({ code: "CHORUS_ERR_ENGINE_UNAVAILABLE", message: expect.stringContaining("model file missing") });
  });

  it("an engine that cannot load never becomes the default (activate ?load=true, AllTalk /api/reload)", async () => {
    const before = (await app.inject("/health")).json().defaultEngine;
    const activate = await app.inject({ method: "POST", url: "/api/engines/broken-load/activate?load=true" });
    expect(activate.statusCode).toBe(503);
    const reload = await app.inject({ method: "POST", url: "/api/reload?tts_method=broken-load" });
    expect(reload.statusCode).toBe(503);
    expect((await app.inject("/health")).json().defaultEngine).toBe(before);
  });

  it("keeps serving after all of the above", async () => {
    const res = await speech({ text: "Still here." });
    expect(res.statusCode).toBe(200);
  });
});
