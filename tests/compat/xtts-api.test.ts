/**
 * The xtts-api-server API, with requests shaped exactly as its clients send them (SillyTavern's
 * XTTSv2 provider, KoboldAI Lite, Open-LLM-VTuber, Mantella; see docs/compat.md), served by
 * eSpeak (the default engine; no voice-cloning engine is installed here).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeWav, expectSpeech } from "../helpers/audio.ts";
import { tempDir } from "../helpers/temp.ts";
import { decodeAudio } from "./decode.ts";
import { startChorus, type RunningChorus } from "./server.ts";

let chorus: RunningChorus;
const data = tempDir("xtts-api");
beforeAll(async () => {
  chorus = await startChorus({ xttsApi: { speakerFolder: `${data}/speakers`, modelFolder: `${data}/models` } }, { dataDir: `${data}/var` });
});
afterAll(async () => chorus?.close());

const ORIGIN = "http://localhost:8000"; // SillyTavern's page
const ST = { "Content-Type": "application/json", "Cache-Control": "no-cache" };
const post = (path: string, body: unknown, headers: Record<string, string> = ST) =>
  fetch(`${chorus.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
const wavOf = async (res: Response) => decodeWav(Buffer.from(await res.arrayBuffer()));
/** SillyTavern's settings after any slider change: numbers as strings (jQuery .val()). */
const stSettings = (over: Record<string, unknown> = {}) => ({
  temperature: "0.75",
  speed: "1",
  length_penalty: "1",
  repetition_penalty: "5",
  top_p: "0.85",
  top_k: "50",
  enable_text_splitting: true,
  stream_chunk_size: "100",
  ...over,
});

describe("SillyTavern's XTTSv2 provider", () => {
  it("GET /speakers: [{name, voice_id, preview_url}] with fetchable previews", async () => {
    const res = await fetch(`${chorus.url}/speakers`, { headers: { Origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const speakers = (await res.json()) as { name: string; voice_id: string; preview_url: string }[];
    expect(Array.isArray(speakers)).toBe(true);
    const enUs = speakers.find((s) => s.name === "en-us")!;
    expect(enUs).toEqual({ name: "en-us", voice_id: "en-us", preview_url: `${chorus.url}/sample/en-us.wav` });
    for (const s of speakers) expect(s.name).toBe(s.voice_id);
    const preview = await fetch(enUs.preview_url);
    expect(preview.headers.get("content-type")).toBe("audio/wav");
    const wav = await wavOf(preview);
    expect(wav.sampleRate).toBe(24000);
    expectSpeech(wav, 7);
  });

  it("preflight for POST with Cache-Control and Content-Type", async () => {
    const res = await fetch(`${chorus.url}/set_tts_settings`, {
      method: "OPTIONS",
      headers: { Origin: ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "cache-control,content-type" },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(res.headers.get("access-control-allow-methods")).toMatch(/POST/);
    expect(res.headers.get("access-control-allow-headers")!.toLowerCase()).toContain("cache-control");
    expect(res.headers.get("access-control-allow-headers")!.toLowerCase()).toContain("content-type");
  });

  it("POST /set_tts_settings with string numbers (and with numbers), reflected by /get_tts_settings", async () => {
    const res = await post("/set_tts_settings", stSettings({ temperature: "0.6", top_k: "40" }), { ...ST, Origin: ORIGIN });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(await res.json()).toEqual({ message: "Settings successfully applied" });
    expect(await (await fetch(`${chorus.url}/get_tts_settings`)).json()).toEqual({
      temperature: 0.6,
      speed: 1,
      length_penalty: 1,
      repetition_penalty: 5,
      top_p: 0.85,
      top_k: 40,
      enable_text_splitting: true,
      stream_chunk_size: 100,
    });
    // The defaults as SillyTavern sends them before any change: JSON numbers.
    const numeric = await post("/set_tts_settings", {
      temperature: 0.75,
      speed: 1,
      length_penalty: 1,
      repetition_penalty: 5,
      top_p: 0.85,
      top_k: 50,
      enable_text_splitting: true,
      stream_chunk_size: 100,
    });
    expect(numeric.status).toBe(200);
    expect((await (await fetch(`${chorus.url}/get_tts_settings`)).json()).top_k).toBe(50);
  });

  it("POST /tts_to_audio/: mono 24 kHz 16-bit WAV, audio/wav", async () => {
    const text = "Hello there, traveller. Welcome to the tavern by the sea.";
    const res = await post("/tts_to_audio/", { text, speaker_wav: "en-us", language: "en" }, { ...ST, Origin: ORIGIN });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/wav");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="output.wav"');
    const wav = await wavOf(res);
    expect({ rate: wav.sampleRate, channels: wav.channels, bits: wav.bitsPerSample }).toEqual({ rate: 24000, channels: 1, bits: 16 });
    expect(wav.dataSize).toBe(wav.samples.length * 2);
    expectSpeech(wav, 10);
  });

  it("GET /tts_stream/?… (the <audio> src, trailing slash) and /tts_stream: chunked audio/x-wav", async () => {
    for (const route of ["/tts_stream/", "/tts_stream"]) {
      const params = new URLSearchParams({ text: "The stream begins. It keeps going for a second sentence.", speaker_wav: "en-gb", language: "en" });
      const res = await fetch(`${chorus.url}${route}?${params}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("audio/x-wav");
      expect(res.headers.get("transfer-encoding")).toBe("chunked");
      expect(res.headers.get("content-length")).toBeNull();
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.toString("ascii", 0, 4)).toBe("RIFF");
      expect(bytes.readUInt32LE(24)).toBe(24000);
      expect(bytes.readUInt16LE(22)).toBe(1);
      expect(bytes.readUInt16LE(34)).toBe(16);
      const decoded = await decodeAudio(bytes, 24000);
      expect(decoded.streamInfo).toMatch(/24000 Hz, (1 channels|mono)/);
      expect(decoded.durationSeconds).toBeGreaterThan(2);
    }
  });

  it("settings apply to later synthesis (speed 2 is faster)", async () => {
    const text = "Counting slowly now: one, two, three, four, five, six, seven.";
    const speak = async () => (await wavOf(await post("/tts_to_audio/", { text, speaker_wav: "en-us", language: "en" }))).durationSeconds;
    await post("/set_tts_settings", stSettings({ speed: "1" }));
    const normal = await speak();
    await post("/set_tts_settings", stSettings({ speed: "2" }));
    const fast = await speak();
    await post("/set_tts_settings", stSettings());
    expect(fast).toBeLessThan(normal * 0.75);
  });
});

describe("set_tts_settings validation", () => {
  it("a missing field is a 422 listing every missing field", async () => {
    const { stream_chunk_size: _a, top_k: _b, ...partial } = stSettings();
    const res = await post("/set_tts_settings", partial);
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.detail.map((d: { loc: string[] }) => d.loc)).toEqual([
      ["body", "stream_chunk_size"],
      ["body", "top_k"],
    ]);
    expect(body.detail[0]).toMatchObject({ type: "missing", msg: "Field required" });
  });

  it('unparsable values are 422 ("50.5" for an integer, "fast" for a number)', async () => {
    const res = await post("/set_tts_settings", stSettings({ top_k: "50.5", speed: "fast" }));
    expect(res.status).toBe(422);
    const types = (await res.json()).detail.map((d: { type: string; loc: string[] }) => `${d.loc[1]}:${d.type}`);
    expect(types).toEqual(["speed:float_parsing", "top_k:int_parsing"]);
  });

  it.each([
    ["top_k", "0", "Top_k must be an integer between 1 and 100."],
    ["top_p", "0", "Top_p must be between 0.01 and 1."],
    ["temperature", "1.5", "Temperature must be between 0.01 and 1."],
    ["speed", "3", "Speed must be between 0.2 and 2."],
    ["repetition_penalty", "11", "Repetition penalty must be between 0.1 and 10."],
    ["stream_chunk_size", "10", "Stream chunk size must be between 20 and 400."],
  ])("%s=%s out of range: 400 {detail}, nothing changed", async (field, value, detail) => {
    const before = await (await fetch(`${chorus.url}/get_tts_settings`)).json();
    const res = await post("/set_tts_settings", stSettings({ temperature: "0.5", [field]: value }));
    expect(res.status).toBe(400);
    // FastAPI's {detail}, with the catalogue code and the field at fault (docs/errors.md)
    expect(await res.json()).toEqual({ detail, code: "CHORUS_ERR_REQUEST_INVALID", field });
    expect(await (await fetch(`${chorus.url}/get_tts_settings`)).json()).toEqual(before);
  });
});

describe("other clients", () => {
  it("KoboldAI Lite: /speakers_list (array of strings), then tts_to_audio/ with language 'EN'", async () => {
    const list = await (await fetch(`${chorus.url}/speakers_list`, { headers: { Origin: ORIGIN } })).json();
    expect(list).toEqual(expect.arrayContaining(["en-us", "en-gb"]));
    expect(list.every((s: unknown) => typeof s === "string")).toBe(true);
    const res = await post(
      "/tts_to_audio/",
      { text: "Kobold speaks tonight.", speaker_wav: "en-us", language: "EN" },
      { "Content-Type": "application/json", Origin: ORIGIN },
    );
    expect(res.status).toBe(200);
    expectSpeech(await wavOf(res), 3);
  });

  it("Open-LLM-VTuber: POST /tts_to_audio without the slash", async () => {
    const res = await post("/tts_to_audio", { text: "No slash here.", speaker_wav: "en-us", language: "en" }, { "Content-Type": "application/json" });
    expect(res.status).toBe(200);
    expect((await wavOf(res)).sampleRate).toBe(24000);
  });

  it("Mantella: liveness, models list, switch_model, speakers_list, POST /tts_stream with JSON", async () => {
    expect((await fetch(chorus.url)).status).toBeLessThan(500);
    const models = (await (await fetch(`${chorus.url}/get_models_list`)).json()) as string[];
    expect(models).toEqual(expect.arrayContaining(["espeak", "flite"]));
    const already = await post("/switch_model", { model_name: "espeak" });
    expect(already.status).toBe(400);
    expect(await already.json()).toEqual({
      detail: "The model with this name is already loaded in memory",
      code: "CHORUS_ERR_REQUEST_INVALID",
      field: "model_name",
    });
    const unknown = await post("/switch_model", { model_name: "v2.0.2" });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      detail: expect.stringMatching(/^A model with `v2.0.2` name is not in the models folder, the current available models: \[.*"flite"/),
      field: "model_name",
    });
    try {
      const switched = await post("/switch_model", { model_name: "FLITE" });
      expect(await switched.json()).toEqual({ message: "Model switched to flite" });
      expect(await (await fetch(`${chorus.url}/speakers_list`)).json()).toContain("slt");
      const res = await post("/tts_stream", { text: "Mantella streams this line.", speaker_wav: "slt", language: "en" });
      expect(res.headers.get("x-chorus-engine")).toBe("flite");
      expect((await decodeAudio(Buffer.from(await res.arrayBuffer()), 24000)).durationSeconds).toBeGreaterThan(0.8);
    } finally {
      await post("/switch_model", { model_name: "espeak" });
    }
    expect(await (await fetch(`${chorus.url}/speakers_list`)).json()).toContain("en-us");
  });

  it("speaker_wav as `engine:voice` and as `name.wav`", async () => {
    const other = await post("/tts_to_audio/", { text: "Another engine speaks.", speaker_wav: "flite:slt", language: "en" });
    expect(other.headers.get("x-chorus-engine")).toBe("flite");
    expect((await wavOf(other)).sampleRate).toBe(24000);
    const file = await post("/tts_to_audio/", { text: "A file name works.", speaker_wav: "en-gb.wav", language: "en" });
    expect(file.headers.get("x-chorus-voice")).toBe("en-gb");
  });

  it("GET /languages: the 17 XTTS languages, name -> code", async () => {
    const { languages } = await (await fetch(`${chorus.url}/languages`)).json();
    expect(Object.keys(languages)).toHaveLength(17);
    expect(languages).toMatchObject({ English: "en", Chinese: "zh-cn", "Brazilian Portuguese": "pt" });
  });
});

describe("errors in FastAPI's {detail} shape", () => {
  it("bad language, unknown speaker, missing fields, bad JSON", async () => {
    const lang = await post("/tts_to_audio/", { text: "Hi.", speaker_wav: "en-us", language: "klingon" });
    expect(lang.status).toBe(400);
    expect(await lang.json()).toEqual({
      detail: expect.stringMatching(/^Language code sent is either unsupported or misspelled/),
      code: "CHORUS_ERR_REQUEST_INVALID",
      field: "language",
    });
    const speaker = await post("/tts_to_audio/", { text: "Hi.", speaker_wav: "nobody", language: "en" });
    expect(speaker.status).toBe(404);
    expect(await speaker.json()).toMatchObject({ detail: expect.stringContaining("Speaker 'nobody' not found"), field: "speaker_wav" });
    const missing = await post("/tts_to_audio/", { text: "Hi." });
    expect(missing.status).toBe(422);
    expect((await missing.json()).detail.map((d: { loc: string[] }) => d.loc[1])).toEqual(["speaker_wav", "language"]);
    const query = await fetch(`${chorus.url}/tts_stream/?text=Hi`);
    expect(query.status).toBe(422);
    expect((await query.json()).detail[0]).toMatchObject({ type: "missing", loc: ["query", "speaker_wav"] });
    const json = await fetch(`${chorus.url}/tts_to_audio/`, { method: "POST", headers: { "content-type": "application/json" }, body: "{oops" });
    expect(json.status).toBe(422);
    expect((await json.json()).detail[0].type).toBe("json_invalid");
    const empty = await post("/tts_to_audio/", { text: "  ", speaker_wav: "en-us", language: "en" });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ detail: expect.any(String), field: "text" });
  });

  it("a JSON body without a JSON content type is read (FastAPI does)", async () => {
    const res = await fetch(`${chorus.url}/set_tts_settings`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify(stSettings()),
    });
    expect(res.status).toBe(200);
  });

  it("a foreign origin's POST is refused in the {detail} shape", async () => {
    const res = await post("/set_tts_settings", stSettings(), { ...ST, Origin: "http://evil.example" });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ detail: expect.stringContaining("not allowed"), code: "CHORUS_ERR_ORIGIN_FORBIDDEN" });
  });
});
