/**
 * Piper through the host, over HTTP: the engine runs in its worker thread, POST /api/speech
 * returns audio at the voice's rate, streams sentence by sentence, selects speakers, and bad
 * requests and corrupt voices get JSON errors without harming the server.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../core/server/app.ts";
import type { Host } from "../../core/host.ts";
import { decodeWav } from "../helpers/audio.ts";
import { testDataDir, testHost } from "../helpers/host.ts";
import { BENCH_VOICES_DIR, ensureBenchVoice, ensureTestVoices } from "../fixtures/piper/generate-voices.ts";

const dataDir = testDataDir();
const brokenDir = fs.mkdtempSync(path.join(os.tmpdir(), "piper-broken-"));
let host: Host;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  const voices = ensureTestVoices();
  ensureBenchVoice();
  fs.writeFileSync(path.join(brokenDir, "broken.onnx"), "not a model");
  fs.copyFileSync(path.join(voices, "test-single.onnx.json"), path.join(brokenDir, "broken.onnx.json"));
  fs.writeFileSync(path.join(brokenDir, "invalid.onnx"), "x");
  fs.writeFileSync(path.join(brokenDir, "invalid.onnx.json"), "{}");
  host = testHost({
    dataDir,
    engines: { dirs: ["engines"], settings: { piper: { voiceDirs: [voices, BENCH_VOICES_DIR, brokenDir], sentenceSilenceSeconds: 0.1 } } },
  });
  app = await buildApp(host);
  url = await app.listen({ host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await app.close();
  await host.close();
  fs.rmSync(brokenDir, { recursive: true, force: true });
});

const speech = (body: Record<string, unknown>) =>
  fetch(`${url}/api/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ engine: "piper", ...body }) });
const quiet = { noiseScale: 0, noiseW: 0 };

describe("piper over HTTP", () => {
  it("lists the voices of the voice directories (bad files skipped)", async () => {
    const res = await fetch(`${url}/api/voices?engine=piper`);
    expect(res.status).toBe(200);
    const ids = JSON.stringify(await res.json());
    for (const id of ["test-single", "test-multi", "test-de", "bench-medium", "broken"]) expect(ids).toContain(`"${id}"`);
    expect(ids).not.toContain('"invalid"');
  });

  it("resolves a language code to a voice of that language (test-de speaks German)", async () => {
    const de = await speech({ text: "Guten Tag.", voice: "de", options: quiet });
    expect(de.status).toBe(200);
    expect(de.headers.get("x-chorus-voice")).toBe("test-de");
    const details = ((await (await fetch(`${url}/api/voices?engine=piper`)).json()) as { details: { id: string; languages: string[] }[] }).details;
    const en = await speech({ text: "Hello.", voice: "en", options: quiet });
    expect(en.status).toBe(200);
    expect(details.find((v) => v.id === en.headers.get("x-chorus-voice"))!.languages.some((l) => l.startsWith("en"))).toBe(true);
  });

  it("returns a WAV at the voice's sample rate, and selects speakers by name and by id", async () => {
    const text = "Hello there. How are you?";
    const byName = await speech({ text, voice: "test-multi", options: { ...quiet, speaker: "bob" } });
    expect(byName.status).toBe(200);
    expect(byName.headers.get("x-chorus-engine")).toBe("piper");
    const a = decodeWav(Buffer.from(await byName.arrayBuffer()));
    expect(a.sampleRate).toBe(16000);
    expect(a.samples.length).toBeGreaterThan(16000 * 0.1);
    const byId = decodeWav(Buffer.from(await (await speech({ text, voice: "test-multi", options: { ...quiet, speakerId: 1 } })).arrayBuffer()));
    const other = decodeWav(Buffer.from(await (await speech({ text, voice: "test-multi", options: { ...quiet, speakerId: 3 } })).arrayBuffer()));
    expect(Buffer.from(byId.samples.buffer).equals(Buffer.from(a.samples.buffer))).toBe(true);
    expect(Buffer.from(other.samples.buffer).equals(Buffer.from(a.samples.buffer))).toBe(false);
    const single = await speech({ text, voice: "test-single", options: quiet });
    expect(decodeWav(Buffer.from(await single.arrayBuffer())).sampleRate).toBe(22050);
  });

  it("streams the first sentence before the last is synthesised", async () => {
    const text = Array.from({ length: 4 }, (_, i) => `This is sentence number ${i + 1}, long enough to take a while.`).join(" ");
    const res = await speech({ text, voice: "bench-medium", stream: true, options: quiet });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const parts: Uint8Array[] = [];
    // When the first audio arrives, the engine still holds the lease: synthesis is not over.
    // (No timing: the lease ends when synthesis ends, see core/synth/read-ahead.ts.)
    let inFlightAtFirst: number | undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (parts.length === 0) inFlightAtFirst = host.scheduler.residents().find((r) => r.engineId === "piper")?.inFlight;
      parts.push(value);
    }
    expect(inFlightAtFirst).toBe(1);
    expect(parts.length).toBeGreaterThanOrEqual(4);
    const wav = decodeWav(Buffer.concat(parts));
    expect(wav.sampleRate).toBe(22050);
    expect(wav.durationSeconds).toBeGreaterThan(4 * 1.5);
  });

  it("answers bad requests with JSON errors", async () => {
    const unknownVoice = await speech({ text: "Hi.", voice: "nobody" });
    expect(unknownVoice.status).toBe(404);
    expect((await unknownVoice.json()).error.field).toBe("voice");
    const outOfRange = await speech({ text: "Hi.", voice: "test-multi", options: { speakerId: 9 } });
    expect(outOfRange.status).toBe(400);
    const body = await outOfRange.json();
    expect(body.error.field).toBe("options.speakerId");
    expect(body.error.message).toMatch(/out of range/);
    const unknownOption = await speech({ text: "Hi.", voice: "test-multi", options: { pitchShift: 2 } });
    expect(unknownOption.status).toBe(400);
  });

  it("a corrupt model fails with a 5xx JSON error; the server and the other voices keep working", async () => {
    const res = await speech({ text: "Hi.", voice: "broken", fallback: false });
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect((await res.json()).error.message).toMatch(/cannot load Piper model/);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await speech({ text: "Still here.", voice: "test-single", options: quiet })).status).toBe(200);
  });

  it("a voice installed while the server runs can be used at once; a removed one answers 404", async () => {
    const voices = ensureTestVoices();
    // Ask for the voice list first, so the host holds a list without the new voice.
    expect(JSON.stringify(await (await fetch(`${url}/api/voices?engine=piper`)).json())).not.toContain('"late-arrival"');
    fs.copyFileSync(path.join(voices, "test-single.onnx"), path.join(brokenDir, "late-arrival.onnx"));
    fs.copyFileSync(path.join(voices, "test-single.onnx.json"), path.join(brokenDir, "late-arrival.onnx.json"));
    const res = await speech({ text: "New voice.", voice: "late-arrival", options: quiet });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("x-chorus-voice")).toBe("late-arrival");
    expect(JSON.stringify(await (await fetch(`${url}/api/voices?engine=piper`)).json())).toContain('"late-arrival"');

    fs.rmSync(path.join(brokenDir, "late-arrival.onnx"));
    fs.rmSync(path.join(brokenDir, "late-arrival.onnx.json"));
    const gone = await speech({ text: "Gone.", voice: "late-arrival", options: quiet });
    expect(gone.status).toBe(404);
    expect((await gone.json()).error.field).toBe("voice");
  });
});
