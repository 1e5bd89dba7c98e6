/**
 * The xtts-api-server API over a voice-cloning engine, and its folders. The engine is a
 * stand-in (tests/compat/fixtures/xtts-plugins/clonefake) for XTTS: its manifest declares
 * voiceCloning and XTTS-like options, and it records what each request brought; the real
 * XTTS engine is not exercised here. Paths sent by clients must never leave the configured
 * folders (traversal, absolute paths, symlinks).
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeWav } from "../helpers/audio.ts";
import { tempDir } from "../helpers/temp.ts";
import { startChorus, type RunningChorus } from "./server.ts";

const FIXTURES = path.resolve(import.meta.dirname, "fixtures/xtts-plugins");
const root = tempDir("xtts-folders");
const speakers = path.join(root, "speakers");
const models = path.join(root, "models");
const dataDir = path.join(root, "var");
const outside = tempDir("xtts-outside");
const outputRoot = path.join(dataDir, "xtts-output");

let chorus: RunningChorus;
beforeAll(async () => {
  fs.mkdirSync(path.join(speakers, "calm_female"), { recursive: true });
  fs.mkdirSync(path.join(speakers, "other"), { recursive: true });
  fs.mkdirSync(path.join(models, "v2.0.2"), { recursive: true });
  fs.mkdirSync(path.join(models, "my-finetune"), { recursive: true });
  fs.writeFileSync(path.join(speakers, "female.wav"), wavBytes(44100, 4410));
  fs.writeFileSync(path.join(speakers, "calm_female", "b.wav"), wavBytes(44100, 100));
  fs.writeFileSync(path.join(speakers, "calm_female", "a.wav"), wavBytes(44100, 200));
  fs.writeFileSync(path.join(outside, "secret.wav"), wavBytes(8000, 8));
  fs.symlinkSync(outside, path.join(speakers, "escape"));
  chorus = await startChorus(
    { xttsApi: { speakerFolder: speakers, modelFolder: models } },
    { dataDir, engines: { dirs: ["engines", FIXTURES, path.resolve(import.meta.dirname, "fixtures/plugins")] } },
  );
  fs.symlinkSync(outside, path.join(outputRoot, "escape"));
});
afterAll(async () => chorus?.close());

function wavBytes(rate: number, n: number): Buffer {
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + n * 2, 4);
  header.write("WAVEfmt ", 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36);
  header.writeUInt32LE(n * 2, 40);
  return Buffer.concat([header, Buffer.alloc(n * 2, 1)]);
}

const post = (p: string, body: unknown) =>
  fetch(`${chorus.url}${p}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const requests = () =>
  fs
    .readFileSync(path.join(dataDir, "engines", "clonefake", "requests.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { text: string; voice: string; options: Record<string, unknown> });

/** A GET with the path sent exactly as written (fetch would normalise `..`). */
function rawGet(p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${chorus.url}/`, { path: p }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("served by the voice-cloning engine", () => {
  it("its voices are the speakers; previews are the speaker folder's clips", async () => {
    const list = await (await fetch(`${chorus.url}/speakers`)).json();
    expect(list).toEqual([
      { name: "female", voice_id: "female", preview_url: `${chorus.url}/sample/female.wav` },
      { name: "calm_female", voice_id: "calm_female", preview_url: `${chorus.url}/sample/calm_female/a.wav` },
    ]);
    for (const s of list as { preview_url: string }[]) {
      const res = await fetch(s.preview_url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("audio/wav");
    }
    expect(Buffer.from(await (await fetch(`${chorus.url}/sample/female.wav`)).arrayBuffer())).toEqual(wavBytes(44100, 4410));
  });

  it("settings, language and model reach the engine as the options it declares", async () => {
    await post("/set_tts_settings", {
      temperature: "0.65",
      speed: "1.5",
      length_penalty: "1",
      repetition_penalty: "7",
      top_p: "0.8",
      top_k: "30",
      enable_text_splitting: false,
      stream_chunk_size: "150",
    });
    const switched = await post("/switch_model", { model_name: "my-finetune" });
    expect(await switched.json()).toEqual({ message: "Model switched to my-finetune" });
    const res = await post("/tts_to_audio/", { text: 'She said "hello" *waves*', speaker_wav: "calm_female", language: "DE" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-chorus-engine")).toBe("clonefake");
    const wav = decodeWav(Buffer.from(await res.arrayBuffer()));
    expect(wav.sampleRate).toBe(24000); // the engine's 16 kHz, resampled
    expect(wav.durationSeconds).toBeCloseTo(1, 2);
    const last = requests().at(-1)!;
    expect(last.voice).toBe("calm_female");
    expect(last.text).toBe("She said 'hello' waves");
    expect(last.options).toEqual({
      temperature: 0.65,
      speed: 1.5,
      length_penalty: 1,
      repetitionPenalty: 7,
      topP: 0.8,
      top_k: 30,
      enable_text_splitting: false,
      language: "de",
      model: "my-finetune",
    });
    const stream = await fetch(`${chorus.url}/tts_stream?${new URLSearchParams({ text: "Streamed.", speaker_wav: "female.wav", language: "en" })}`);
    await stream.arrayBuffer();
    expect(requests().at(-1)!.options).toMatchObject({ stream_chunk_size: 150, language: "en" });
    expect(requests().at(-1)!.voice).toBe("female");
    expect((await post("/switch_model", { model_name: "my-finetune" })).status).toBe(400);
    expect(await (await fetch(`${chorus.url}/get_models_list`)).json()).toEqual(expect.arrayContaining(["my-finetune", "v2.0.2", "clonefake", "espeak"]));
  });

  it("a clip path inside the speaker folder names its voice; one outside is refused", async () => {
    const inside = await post("/tts_to_audio/", { text: "Hi.", speaker_wav: path.join(speakers, "female.wav"), language: "en" });
    expect(inside.status).toBe(200);
    expect(inside.headers.get("x-chorus-voice")).toBe("female");
    for (const bad of [path.join(outside, "secret.wav"), "../secret.wav", "calm_female/../../x.wav"]) {
      const res = await post("/tts_to_audio/", { text: "Hi.", speaker_wav: bad, language: "en" });
      expect(res.status, bad).toBe(400);
      expect((await res.json()).field).toBe("speaker_wav");
    }
  });
});

describe("/sample confined to the speaker folder", () => {
  it.each([
    "/sample/../secret.wav",
    "/sample/%2e%2e/secret.wav",
    "/sample/..%2fsecret.wav",
    "/sample/escape/secret.wav",
    `/sample/${encodeURIComponent(path.join(outside, "secret.wav"))}`,
    "/sample/nobody.wav",
    "/sample/female",
  ])("%s is a 404", async (p) => {
    const res = await rawGet(p);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ detail: expect.any(String), code: "CHORUS_ERR_FILE_NOT_FOUND", field: "file_name" });
  });
});

describe("management routes confined to the configured folders", () => {
  it("get_folders, then set_speaker_folder inside (relative or absolute) and refused outside", async () => {
    expect(await (await fetch(`${chorus.url}/get_folders`)).json()).toEqual({ speaker_folder: speakers, output_folder: outputRoot, model_folder: models });
    expect(await (await post("/set_speaker_folder", { speaker_folder: "other" })).json()).toEqual({
      message: `Speaker folder set to ${path.join(speakers, "other")}`,
    });
    expect((await post("/set_speaker_folder", { speaker_folder: speakers })).status).toBe(200);
    for (const bad of [outside, "..", "../..", "escape", "/etc"]) {
      const res = await post("/set_speaker_folder", { speaker_folder: bad });
      expect(res.status, bad).toBe(400);
      expect(await res.json()).toEqual({
        detail: expect.stringMatching(/outside the configured folder|'\.\.' is not allowed/),
        code: "CHORUS_ERR_REQUEST_INVALID",
        field: "speaker_folder",
      });
    }
    const missing = await post("/set_speaker_folder", { speaker_folder: "nope" });
    expect(await missing.json()).toEqual({ detail: "Provided path is not a valid directory", code: "CHORUS_ERR_REQUEST_INVALID", field: "speaker_folder" });
    expect((await (await fetch(`${chorus.url}/get_folders`)).json()).speaker_folder).toBe(speakers);
  });

  it("set_output and tts_to_file write only inside the output folder", async () => {
    fs.mkdirSync(path.join(outputRoot, "sub"), { recursive: true });
    expect((await post("/set_output", { output_folder: "sub" })).status).toBe(200);
    const ok = await post("/tts_to_file", { text: "Saved.", speaker_wav: "female", language: "en", file_name_or_path: "chapter1/line.wav" });
    expect(ok.status).toBe(200);
    const written = path.join(outputRoot, "sub", "chapter1", "line.wav");
    expect(await ok.json()).toEqual({ message: "The audio was successfully made and stored.", output_path: written });
    expect(decodeWav(fs.readFileSync(written)).sampleRate).toBe(24000);
    for (const bad of ["../../x.wav", path.join(outside, "x.wav"), path.join(outputRoot, "escape", "x.wav"), "/tmp/x.wav"]) {
      const res = await post("/tts_to_file", { text: "Nope.", speaker_wav: "female", language: "en", file_name_or_path: bad });
      expect(res.status, bad).toBe(400);
    }
    expect((await post("/tts_to_file", { text: "Nope.", speaker_wav: "female", language: "en", file_name_or_path: "x.mp3" })).status).toBe(400);
    expect(fs.readdirSync(outside).sort()).toEqual(["secret.wav"]);
    expect((await post("/set_output", { output_folder: outputRoot })).status).toBe(200);
    const viaLink = await post("/tts_to_file", { text: "Nope.", speaker_wav: "female", language: "en", file_name_or_path: "escape/x.wav" });
    expect(viaLink.status).toBe(400);
    expect(fs.readdirSync(outside).sort()).toEqual(["secret.wav"]);
    expect((await post("/set_output", { output_folder: outside })).status).toBe(400);
    expect((await post("/set_output", { output_folder: "escape" })).status).toBe(400);
  });
});

describe("streaming", () => {
  /** Polls until `check` holds (a condition, not a fixed wait). */
  async function until(check: () => boolean): Promise<void> {
    while (!check()) await new Promise((r) => setTimeout(r, 20));
  }

  it("/tts_stream sends audio as it is made, and a client that leaves ends the synthesis", async () => {
    // slowtone (a test engine) makes each sentence after 50 ms: 40 sentences take 2 s.
    const text = Array.from({ length: 40 }, (_, i) => `Sentence ${i + 1}.`).join(" ");
    const controller = new AbortController();
    const res = await fetch(`${chorus.url}/tts_stream?${new URLSearchParams({ text, speaker_wav: "slowtone:tone", language: "en" })}`, {
      signal: controller.signal,
    });
    expect(res.headers.get("x-chorus-engine")).toBe("slowtone");
    const reader = res.body!.getReader();
    let bytes = 0;
    while (bytes < 44 + 3 * 12000) bytes += (await reader.read()).value!.length; // header + three sentences at 24 kHz
    const inFlight = () => chorus.host.scheduler.residents().find((r) => r.engineId === "slowtone")?.inFlight ?? 0;
    expect(inFlight()).toBe(1); // still speaking: the audio came before the end
    controller.abort();
    await until(() => inFlight() === 0);
  });
});
