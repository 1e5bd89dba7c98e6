/**
 * Done-when of the xtts-api-server surface: SillyTavern's XTTSv2 provider sequence (speakers,
 * set_tts_settings with string numbers, tts_to_audio/, the tts_stream/ URL) against a running
 * `chorus serve` with only the embedded engines, on Chorus's port and on the second listener
 * (`compat.xttsApi.port`, as xtts-api-server's 8020).
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeWav, expectSpeech } from "../helpers/audio.ts";
import { freePort, startServer, type RunningServer } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";
import { decodeAudio } from "./decode.ts";
import { startChorus } from "./server.ts";

const ORIGIN = "http://127.0.0.1:8000";
const ST = { "Content-Type": "application/json", "Cache-Control": "no-cache", Origin: ORIGIN };

/** The provider's four calls, in its order, against `ep` (the endpoint the user typed). */
async function sillyTavernSequence(ep: string): Promise<void> {
  // Provider load: speakers and settings in parallel (the settings POST is preflighted).
  const preflight = await fetch(`${ep}/set_tts_settings`, {
    method: "OPTIONS",
    headers: { Origin: ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "cache-control,content-type" },
  });
  expect(preflight.status).toBeLessThan(300);
  expect(preflight.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  const settings = {
    temperature: "0.75",
    speed: "1.2",
    length_penalty: "1",
    repetition_penalty: "5",
    top_p: "0.85",
    top_k: "50",
    enable_text_splitting: true,
    stream_chunk_size: "100",
  };
  const [speakersRes, settingsRes] = await Promise.all([
    fetch(`${ep}/speakers`, { headers: { Origin: ORIGIN } }),
    fetch(`${ep}/set_tts_settings`, { method: "POST", headers: ST, body: JSON.stringify(settings) }),
  ]);
  expect(settingsRes.status).toBe(200);
  expect(speakersRes.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  const speakers = (await speakersRes.json()) as { name: string; voice_id: string; preview_url: string }[];
  const voice = speakers.find((s) => s.name === "en-us")!;
  expect(voice.voice_id).toBe("en-us");
  expect(voice.preview_url.startsWith(`${ep}/sample/`)).toBe(true);
  const preview = await fetch(voice.preview_url);
  expect(preview.headers.get("content-type")).toBe("audio/wav");
  expectSpeech(decodeWav(Buffer.from(await preview.arrayBuffer())), 7);

  // Narration without streaming: POST tts_to_audio/ and play the blob (type must start audio/).
  const text = "Welcome back, traveller. The fire is warm and the stew is ready.";
  const audio = await fetch(`${ep}/tts_to_audio/`, {
    method: "POST",
    headers: ST,
    body: JSON.stringify({ text, speaker_wav: voice.voice_id, language: "en" }),
  });
  expect(audio.status).toBe(200);
  expect(audio.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  expect(audio.headers.get("content-type")).toMatch(/^audio\//);
  const wav = decodeWav(Buffer.from(await audio.arrayBuffer()));
  expect([wav.sampleRate, wav.channels, wav.bitsPerSample]).toEqual([24000, 1, 16]);
  expectSpeech(wav, 12);

  // Streaming: the URL string the provider hands to the <audio> element.
  const url = `${ep}/tts_stream/?${new URLSearchParams({ text, speaker_wav: voice.voice_id, language: "en" })}`;
  const stream = await fetch(url);
  expect(stream.status).toBe(200);
  expect(stream.headers.get("content-type")).toBe("audio/x-wav");
  expect(stream.headers.get("transfer-encoding")).toBe("chunked");
  const reader = stream.body!.getReader();
  const first = await reader.read(); // the header arrives before the rest of the audio
  expect(Buffer.from(first.value!).toString("ascii", 0, 4)).toBe("RIFF");
  const parts = [Buffer.from(first.value!)];
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(Buffer.from(r.value));
  const decoded = await decodeAudio(Buffer.concat(parts), 24000);
  expect(decoded.streamInfo).toMatch(/24000 Hz/);
  expect(decoded.durationSeconds).toBeGreaterThan(2);
}

describe("chorus serve, embedded engines only", () => {
  let server: RunningServer;
  let second: string;
  beforeAll(async () => {
    const port = await freePort();
    second = `http://127.0.0.1:${port}`;
    server = await startServer({ CHORUS_DATA_DIR: tempDir("xtts-process"), CHORUS_COMPAT__XTTS_API__PORT: String(port) });
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it("SillyTavern's XTTSv2 sequence on Chorus's port", async () => {
    await sillyTavernSequence(server.url);
  });

  it("SillyTavern's XTTSv2 sequence on the second listener (compat.xttsApi.port)", async () => {
    await sillyTavernSequence(second);
  });

  it("the second listener is xtts-api-server only, and shares the settings", async () => {
    expect(await (await fetch(`${second}/get_tts_settings`)).json()).toMatchObject({ speed: 1.2 });
    const root = await fetch(`${second}/`);
    expect(root.status).toBe(404);
    expect(await root.json()).toEqual({ detail: "Not Found" });
    const other = await fetch(`${second}/api/speech`, { method: "POST" });
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ detail: "Not Found" });
    expect(server.output()).toMatch(/xtts-api-server API listening/);
  });
});

describe("access", () => {
  it("with compat.apiKey, a missing key is a 401 in the {detail} shape", async () => {
    const chorus = await startChorus({ apiKey: "sekret" }, { dataDir: tempDir("xtts-key") });
    try {
      const res = await fetch(`${chorus.url}/speakers`);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ detail: expect.stringContaining("API key"), code: "CHORUS_ERR_UNAUTHORIZED" });
      const ok = await fetch(`${chorus.url}/speakers_list`, { headers: { Authorization: "Bearer sekret" } });
      expect(ok.status).toBe(200);
    } finally {
      await chorus.close();
    }
  });

  it("a port in use fails the start, naming compat.xttsApi.port", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startChorus({ xttsApi: { port } }, { dataDir: tempDir("xtts-port") })).rejects.toThrow(/compat\.xttsApi\.port/);
    } finally {
      blocker.close();
    }
  });
});
