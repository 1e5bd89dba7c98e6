/**
 * One voice rule on every surface: `engine:voice` picks the engine, a language code is that
 * language's default voice, /api/voices lists what a client can send; AllTalk forms may be
 * multipart. Real engines (eSpeak NG, Flite) behind a real server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchVoice, voiceForLanguage } from "../../core/voices/match.ts";
import { decodeWav, expectSpeech } from "../helpers/audio.ts";
import { startChorus, type RunningChorus } from "./server.ts";

let chorus: RunningChorus;
beforeAll(async () => {
  chorus = await startChorus({ alltalk: { outputsDir: "outputs-voices-test" } }, { dataDir: "var/test-voices" });
});
afterAll(async () => chorus?.close());

const json = (url: string, body: unknown) =>
  fetch(`${chorus.url}${url}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const form = (url: string, fields: Record<string, string>) => fetch(`${chorus.url}${url}`, { method: "POST", body: new URLSearchParams(fields) });

describe("language codes", () => {
  const voices = [
    { id: "b-x", name: "B", languages: ["fr-be", "fr"] },
    { id: "f-x", name: "F", languages: ["fr-fr", "fr"] },
    { id: "us", name: "US", languages: ["en-us"] },
    { id: "gb", name: "GB", languages: ["en-gb"] },
  ];
  it("pick the engine's default voice when it speaks the language, else the first that lists it", () => {
    expect(voiceForLanguage(voices, "en", "gb")?.id).toBe("gb");
    expect(voiceForLanguage(voices, "en")?.id).toBe("us"); // a regional form, in the engine's order
    expect(voiceForLanguage(voices, "fr", "us")?.id).toBe("b-x");
    expect(voiceForLanguage(voices, "FR_fr")?.id).toBe("f-x");
    expect(voiceForLanguage(voices, "de")).toBeUndefined();
    expect(voiceForLanguage(voices, "fr-ca", "us")?.id).toBe("b-x"); // no fr-ca: French (RFC 4647 lookup)
    expect(voiceForLanguage(voices, "en-au", "gb")?.id).toBe("gb");
    expect(matchVoice(voices, "GB")?.id).toBe("gb"); // an id before a language
    expect(voiceForLanguage([{ id: "nb", name: "Norwegian", languages: ["nb", "no"] }], "no-such-voice")).toBeUndefined(); // a name, not "no"
    expect(voiceForLanguage(voices, "fr-Latn-FR")?.id).toBe("f-x");
  });

  it.each([
    ["espeak", "en", "en-us"],
    ["espeak", "fr", "fr-fr"],
    ["espeak", "pt", "pt"],
    ["espeak", "pt_BR", "pt-br"],
    ["espeak", "es", "es"],
    ["flite", "en", "slt"],
    ["flite", "en-us", "slt"],
    ["flite", "en-gb", "slt"], // Flite has no British voice: English
    ["espeak", "en-au", "en-us"],
  ])("%s speaks %s with voice %s (native API)", async (engine, voice, expected) => {
    const res = await json("/api/speech", { text: "Hello.", engine, voice });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("x-chorus-voice")).toBe(expected);
    expectSpeech(decodeWav(Buffer.from(await res.arrayBuffer())), 1);
  });

  it("work on the OpenAI route", async () => {
    const res = await json("/v1/audio/speech", { model: "tts-1", input: "Bonjour.", voice: "fr", response_format: "wav" });
    expect(res.status).toBe(200);
    expect([res.headers.get("x-chorus-engine"), res.headers.get("x-chorus-voice")]).toEqual(["espeak", "fr-fr"]);
  });
});

describe("engine:voice", () => {
  it("native: picks the engine", async () => {
    const res = await json("/api/speech", { text: "Hello there.", voice: "flite:awb" });
    expect([res.status, res.headers.get("x-chorus-engine"), res.headers.get("x-chorus-voice")]).toEqual([200, "flite", "awb"]);
  });

  it("AllTalk tts-generate: character and narrator voices on other engines", async () => {
    const res = await form("/api/tts-generate", {
      text_input: '*She smiled.* "Hello there."',
      character_voice_gen: "flite:slt",
      narrator_enabled: "true",
      narrator_voice_gen: "espeak:en-gb",
      text_filtering: "standard",
      output_file_name: "mixed",
    });
    const body = (await res.json()) as { status: string; output_file_url: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe("generate-success");
    const wav = decodeWav(Buffer.from(await (await fetch(`${chorus.url}${body.output_file_url}`)).arrayBuffer()));
    expectSpeech(wav, 4);
  });

  it("AllTalk streaming and preview", async () => {
    const stream = await fetch(`${chorus.url}/api/tts-generate-streaming?text=${encodeURIComponent("Hello there.")}&voice=flite:kal16`);
    expect([stream.status, stream.headers.get("x-chorus-engine"), stream.headers.get("x-chorus-voice")]).toEqual([200, "flite", "kal16"]);
    await stream.arrayBuffer();
    const preview = await form("/api/previewvoice", { voice: "flite:rms" });
    expect(preview.status).toBe(200);
    expect(((await preview.json()) as { output_file_url: string }).output_file_url).toMatch(/^\/audio\/preview_flite_rms\.wav$/);
  });

  it("AllTalk preview: an unknown voice names the field `voice`", async () => {
    const res = await form("/api/previewvoice", { voice: "nosuchvoice" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ code: "CHORUS_ERR_VOICE_NOT_FOUND", field: "voice" });
  });

  it("/api/voices lists the default engine's voices, then the others' as engine:voice", async () => {
    const body = (await (await fetch(`${chorus.url}/api/voices`)).json()) as { engine: string; voices: string[] };
    expect(body.engine).toBe("espeak");
    expect(body.voices).toEqual(expect.arrayContaining(["en-us", "fr-fr", "flite:slt", "flite:awb"]));
    expect(body.voices.indexOf("en-us")).toBeLessThan(body.voices.indexOf("flite:slt"));
    // Everything listed is accepted back.
    const res = await form("/api/tts-generate", { text_input: "Listed voices work.", character_voice_gen: "flite:awb" });
    expect(res.status).toBe(200);
  });
});

describe("AllTalk forms", () => {
  it("accepts multipart/form-data on tts-generate (FastAPI Form takes it)", async () => {
    const data = new FormData();
    data.set("text_input", "Sent as multipart form data.");
    data.set("character_voice_gen", "en-us");
    data.set("output_file_name", "multipart");
    const res = await fetch(`${chorus.url}/api/tts-generate`, { method: "POST", body: data });
    const body = (await res.json()) as { status: string; output_file_url: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.output_file_url).toMatch(/^\/audio\/multipart_.*\.wav$/);
  });

  it("refuses a file part and a multipart body without its boundary", async () => {
    const data = new FormData();
    data.set("text_input", new Blob(["hello"]), "hello.txt");
    const file = await fetch(`${chorus.url}/api/tts-generate`, { method: "POST", body: data });
    expect(file.status).toBe(400);
    expect(((await file.json()) as { error: unknown }).error).toMatchObject({ code: "CHORUS_ERR_REQUEST_INVALID", field: "text_input" });
    const broken = await fetch(`${chorus.url}/api/tts-generate`, { method: "POST", headers: { "content-type": "multipart/form-data" }, body: "text_input=hi" });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: string } }).error.code).toBe("CHORUS_ERR_REQUEST_MALFORMED");
  });

  it("empty and whitespace text are the same error", async () => {
    for (const text of ["", "   "]) {
      const res = await form("/api/tts-generate", { text_input: text });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: unknown }).error, JSON.stringify(text)).toMatchObject({ code: "CHORUS_ERR_TEXT_EMPTY", field: "text_input" });
    }
  });

  it("currentsettings says what /api/reload changes", async () => {
    const settings = (await (await fetch(`${chorus.url}/api/currentsettings`)).json()) as { current_engine_scope: string };
    expect(settings.current_engine_scope).toMatch(/^server: AllTalk routes, \/api\/speech/);
    // As documented: the native route without an engine follows it; OpenAI's model keeps its engine.
    expect((await fetch(`${chorus.url}/api/reload?tts_method=flite`, { method: "POST" })).status).toBe(200);
    try {
      expect((await json("/api/speech", { text: "Hello." })).headers.get("x-chorus-engine")).toBe("flite");
      expect((await json("/v1/audio/speech", { model: "tts-1", input: "Hello.", voice: "alloy", response_format: "wav" })).headers.get("x-chorus-engine")).toBe(
        "espeak",
      );
    } finally {
      await fetch(`${chorus.url}/api/reload?tts_method=espeak`, { method: "POST" });
    }
  });
});
