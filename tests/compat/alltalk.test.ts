/** The AllTalk-compatible API, with requests shaped as SillyTavern's AllTalk provider sends them. */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { decodeWav, expectSpeech } from "../helpers/audio.ts";
import { testDataDir } from "../helpers/host.ts";
import { decodeAudio } from "./decode.ts";
import { startChorus, type RunningChorus } from "./server.ts";

let chorus: RunningChorus;
beforeAll(async () => {
  chorus = await startChorus({ alltalk: { outputsDir: "outputs-alltalk-test" } }, { dataDir: testDataDir() });
});
afterAll(async () => chorus?.close());

const ST_HEADERS = { "Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-cache" };
const form = (url: string, fields: Record<string, string>) =>
  fetch(`${chorus.url}${url}`, { method: "POST", headers: ST_HEADERS, body: new URLSearchParams(fields) });
const stForm = (text: string, extra: Record<string, string> = {}) => ({
  text_input: text,
  text_filtering: "standard",
  character_voice_gen: "en-us",
  narrator_enabled: "false",
  narrator_voice_gen: "en-gb",
  text_not_inside: "character",
  language: "en",
  output_file_name: "st_output",
  output_file_timestamp: "true",
  autoplay: "false",
  autoplay_volume: "0.8",
  ...extra,
});

describe("SillyTavern's AllTalk provider", () => {
  it("ready, voices, rvcvoices, currentsettings", async () => {
    const ready = await fetch(`${chorus.url}/api/ready`, { headers: { "Cache-Control": "no-cache" } });
    expect(ready.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await ready.text()).toBe("Ready");
    expect((await (await fetch(`${chorus.url}/api/voices`)).json()).voices).toEqual(expect.arrayContaining(["en-us", "en-gb"]));
    expect(await (await fetch(`${chorus.url}/api/rvcvoices`)).json()).toMatchObject({ rvcvoices: ["Disabled"] });
    const settings = await (await fetch(`${chorus.url}/api/currentsettings`)).json();
    expect(settings).toMatchObject({
      current_engine_loaded: "espeak",
      current_model_loaded: "espeak",
      deepspeed_capable: false,
      deepspeed_available: false,
      deepspeed_enabled: false,
      lowvram_capable: false,
      lowvram_enabled: false,
      streaming_capable: true,
    });
    expect(settings.models_available).toEqual(expect.arrayContaining([{ name: "espeak" }, { name: "flite" }]));
    expect(settings.engines_available).toEqual(expect.arrayContaining(["espeak", "flite"]));
    for (const key of [
      "manufacturer_name",
      "generationspeed_capable",
      "generationspeed_set",
      "pitch_capable",
      "temperature_capable",
      "temperature_set",
      "repetitionpenalty_capable",
      "repetitionpenalty_set",
      "languages_capable",
      "multivoice_capable",
      "multimodel_capable",
      "ttsengines_installed",
    ]) {
      expect(settings).toHaveProperty(key);
    }
  });

  it("tts-generate then GET the relative output_file_url", async () => {
    const res = await form("/api/tts-generate", stForm('*She smiles.* "Hello there, how are you today?"'));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: "generate-success", output_file_url: expect.stringMatching(/^\/audio\/st_output_\d{8}-\d{6}_[0-9a-f]{6}\.wav$/) });
    expect(body.output_cache_url).toBe(body.output_file_url);
    expect(path.basename(body.output_file_path)).toBe(path.basename(body.output_file_url));
    const audio = await fetch(`${chorus.url}${body.output_file_url}`);
    expect(audio.headers.get("content-type")).toBe("audio/wav");
    expectSpeech(decodeWav(Buffer.from(await audio.arrayBuffer())), 7);
    const ranged = await fetch(`${chorus.url}${body.output_file_url}`, { headers: { Range: "bytes=0-43" } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).toString("ascii", 0, 4)).toBe("RIFF");
  });

  it("tts-generate-streaming is a progressively playable WAV", async () => {
    const q = new URLSearchParams({ text: "Streaming works. Second sentence here.", voice: "en-us", language: "en", output_file: "stream_out" });
    const res = await fetch(`${chorus.url}/api/tts-generate-streaming?${q}`);
    expect(res.headers.get("content-type")).toBe("audio/wav");
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.readUInt32LE(40)).toBe(0xffffffff);
    const decoded = await decodeAudio(bytes);
    expect(decoded.durationSeconds).toBeGreaterThan(1.5);
  });

  it("previewvoice/ (trailing slash) returns a playable output_file_url", async () => {
    const res = await form("/api/previewvoice/", { voice: "en-gb" });
    const body = await res.json();
    expect(body.output_file_url).toMatch(/^\/audio\/preview_en-gb\.wav$/);
    expectSpeech(decodeWav(Buffer.from(await (await fetch(`${chorus.url}${body.output_file_url}`)).arrayBuffer())), 10);
  });

  it("reload, lowvramsetting, deepspeed, stop-generation", async () => {
    expect(await (await fetch(`${chorus.url}/api/reload?tts_method=flite`, { method: "POST" })).json()).toEqual({ status: "model-success" });
    expect((await (await fetch(`${chorus.url}/api/currentsettings`)).json()).current_engine_loaded).toBe("flite");
    const gen = await (await form("/api/tts-generate", stForm("Now with Flite.", { character_voice_gen: "slt", output_file_timestamp: "false" }))).json();
    expect(gen.output_file_url).toBe("/audio/st_output.wav");
    expect((await fetch(`${chorus.url}/api/reload?tts_method=espeak`, { method: "POST" })).status).toBe(200);
    const missing = await fetch(`${chorus.url}/api/reload?tts_method=nope`, { method: "POST" });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.field).toBe("tts_method");
    expect(await (await fetch(`${chorus.url}/api/lowvramsetting?new_low_vram_value=True`, { method: "POST" })).json()).toEqual({ status: "lowvram-success" });
    expect((await (await fetch(`${chorus.url}/api/currentsettings`)).json()).lowvram_enabled).toBe(true);
    expect((await fetch(`${chorus.url}/api/lowvramsetting?new_low_vram_value=maybe`, { method: "POST" })).status).toBe(400);
    expect(await (await fetch(`${chorus.url}/api/deepspeed?new_deepspeed_value=False`, { method: "POST" })).json()).toEqual({ status: "deepspeed-success" });
    expect((await (await fetch(`${chorus.url}/api/deepspeed?new_deepspeed_value=True`, { method: "POST" })).json()).status).toBe("deepspeed-not-supported");
    expect((await fetch(`${chorus.url}/api/stop-generation`, { method: "PUT" })).status).toBe(200);
  });
});

describe("narrator mode", () => {
  it("speaks each part with its voice, in order", async () => {
    const spy = vi.spyOn(chorus.host.pipeline, "start");
    try {
      const text = '*She looks up.* "Hello there," she says. *Smiles.* "How are you?"';
      const res = await form("/api/tts-generate", stForm(text, { narrator_enabled: "true", narrator_voice_gen: "en-gb", character_voice_gen: "en-us" }));
      expect(res.status).toBe(200);
      expect(spy.mock.calls.map(([job]) => [job.voice, job.text])).toEqual([
        ["en-gb", "She looks up."],
        ["en-us", "Hello there, she says."],
        ["en-gb", "Smiles."],
        ["en-us", "How are you?"],
      ]);
      spy.mockClear();
      await form("/api/tts-generate", stForm(text, { narrator_enabled: "silent", text_not_inside: "silent" }));
      expect(spy.mock.calls.map(([job]) => [job.voice, job.text])).toEqual([["en-us", "Hello there, How are you?"]]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("file names and bad input", () => {
  it("output_file_name=../../etc/passwd stays inside the outputs folder", async () => {
    const body = await (
      await form("/api/tts-generate", stForm("Safe file names.", { output_file_name: "../../etc/passwd", output_file_timestamp: "false" }))
    ).json();
    expect(body.output_file_url).toBe("/audio/passwd.wav");
    const outputs = path.join(testDataDir(), "outputs-alltalk-test");
    expect(path.dirname(body.output_file_path)).toBe(outputs);
    expect(fs.existsSync(path.join(outputs, "passwd.wav"))).toBe(true);
    const abs = await (await form("/api/tts-generate", stForm("Absolute.", { output_file_name: "/tmp/x", output_file_timestamp: "false" }))).json();
    expect(abs.output_file_url).toBe("/audio/x.wav");
    for (const probe of ["/audio/..%2F..%2Fpackage.json", "/audio/%2Fetc%2Fpasswd", "/audio/passwd.txt"]) {
      const res = await fetch(`${chorus.url}${probe}`);
      expect(res.status).toBe(400);
    }
    const never = await fetch(`${chorus.url}/audio/never_made.wav`);
    expect(never.status).toBe(404);
    expect(JSON.stringify(await never.json())).toContain("CHORUS_ERR_FILE_NOT_FOUND");
  });

  it.each([
    [{ text_input: "" }, "text_input"],
    [{ text_filtering: "markdown" }, "text_filtering"],
    [{ narrator_enabled: "sometimes" }, "narrator_enabled"],
    [{ text_not_inside: "elsewhere" }, "text_not_inside"],
    [{ speed: "fast" }, "speed"],
    [{ character_voice_gen: "no-such-voice" }, "character_voice_gen"],
  ])("%o -> 4xx naming %s", async (extra, field) => {
    const res = await form("/api/tts-generate", stForm("Hello.", extra));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await res.json()).toMatchObject({ status: "generate-failure", error: { field } });
  });
});

describe("field names and units in errors", () => {
  it("speed and pitch out of range name AllTalk's field, pitch in semitones, before any synthesis", async () => {
    const spy = vi.spyOn(chorus.host.pipeline, "start");
    try {
      const pitch = await form("/api/tts-generate", stForm("Hello.", { pitch: "30" }));
      expect(pitch.status).toBe(400);
      expect(await pitch.json()).toMatchObject({
        error: { code: "CHORUS_ERR_REQUEST_INVALID", field: "pitch", message: "pitch: must be between -24 and 24 semitones, got 30" },
      });
      const speed = await form("/api/tts-generate", stForm("Hello.", { speed: "9" }));
      expect(await speed.json()).toMatchObject({ error: { field: "speed", message: "speed: must be between 0.25 and 4, got 9" } });
      const empty = await form("/api/tts-generate", stForm("** ..."));
      expect(await empty.json()).toMatchObject({ error: { code: "CHORUS_ERR_TEXT_EMPTY", field: "text_input" } });
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});

describe("text length before filtering", () => {
  it("text over 4 times text.maxLength is a 413 naming the AllTalk field, before it is filtered", async () => {
    const limit = chorus.host.config.text.maxLength * 4;
    const spy = vi.spyOn(chorus.host.pipeline, "start");
    try {
      // Filters down to "Hi." (the `**` go), so only the raw check refuses it.
      const res = await form("/api/tts-generate", stForm(`Hi.${"**".repeat(limit / 2)}`));
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ status: "generate-failure", error: { code: "CHORUS_ERR_TEXT_TOO_LONG", field: "text_input" } });
      const stream = await form("/api/tts-generate-streaming", { text: "a".repeat(limit + 1), voice: "en-us" });
      expect(stream.status).toBe(413);
      expect(await stream.json()).toMatchObject({ error: { code: "CHORUS_ERR_TEXT_TOO_LONG", field: "text" } });
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it("markup that filtering removes may take text past text.maxLength, up to 4 times", async () => {
    const text = `${"<b></b>".repeat(Math.floor((chorus.host.config.text.maxLength * 4 - 10) / 7))}Hello.`;
    const res = await form("/api/tts-generate", stForm(text, { text_filtering: "html", output_file_timestamp: "false" }));
    expect(res.status).toBe(200);
  });

  it("the reviewer's repro (480 KB of unclosed links, under the body limit) is refused unfiltered", async () => {
    const spy = vi.spyOn(chorus.host.pipeline, "start");
    try {
      const res = await fetch(`${chorus.url}/api/tts-generate`, { method: "POST", headers: ST_HEADERS, body: `text_input=${"%5Ba%5D(".repeat(60_000)}` });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ error: { code: "CHORUS_ERR_TEXT_TOO_LONG", field: "text_input" } });
      expect(spy).not.toHaveBeenCalled(); // the pipeline's own limit would refuse it only after filtering
      expect((await fetch(`${chorus.url}/health`)).status).toBe(200);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("repeated and structured fields", () => {
  it("repeated query parameters keep the last value, as form fields do", async () => {
    const spy = vi.spyOn(chorus.host.pipeline, "start");
    try {
      const res = await fetch(`${chorus.url}/api/tts-generate-streaming?text=a&text=Repeated%20text.&voice=nope&voice=en-gb`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect(spy.mock.calls.map(([job]) => [job.voice, job.text])).toEqual([["en-gb", "Repeated text."]]);
    } finally {
      spy.mockRestore();
    }
    expect(await (await fetch(`${chorus.url}/api/reload?tts_method=nope&tts_method=espeak`, { method: "POST" })).json()).toEqual({ status: "model-success" });
    expect((await fetch(`${chorus.url}/api/lowvramsetting?new_low_vram_value=maybe&new_low_vram_value=False`, { method: "POST" })).status).toBe(200);
    expect((await fetch(`${chorus.url}/api/deepspeed?new_deepspeed_value=True&new_deepspeed_value=False`, { method: "POST" })).status).toBe(200);
  });

  const json = (url: string, body: unknown) =>
    fetch(`${chorus.url}${url}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

  it.each([
    ["/api/tts-generate", { text_input: { a: 1 } }, "text_input"],
    ["/api/tts-generate", { text_input: [{ a: 1 }] }, "text_input"],
    ["/api/tts-generate", { text_input: "Hello.", character_voice_gen: ["en-us", { a: 1 }] }, "character_voice_gen"],
    ["/api/tts-generate-streaming", { text: { a: 1 } }, "text"],
  ])("%s with %j is a 400 naming %s, not spoken as [object Object]", async (url, body, field) => {
    const res = await json(url, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ status: "generate-failure", error: { code: "CHORUS_ERR_REQUEST_INVALID", field } });
  });

  it("a JSON array field keeps its last value", async () => {
    const spy = vi.spyOn(chorus.host.pipeline, "start");
    try {
      const res = await json("/api/tts-generate", {
        text_input: ["first", "Second."],
        character_voice_gen: "en-us",
        text_filtering: "none",
        output_file_timestamp: "false",
      });
      expect(res.status).toBe(200);
      expect(spy.mock.calls.map(([job]) => job.text)).toEqual(["Second."]);
    } finally {
      spy.mockRestore();
    }
  });
});
