/** End to end: the real `chorus` process, as a user runs it. */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeWav, expectSpeech } from "../helpers/audio.ts";
import { runChorus, startServer, type RunningServer } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";

const tmp = tempDir("e2e");
// A port no server answers on, so `chorus engines` shows the manifests' state.
const env = { CHORUS_DATA_DIR: tmp, CHORUS_SERVER__PORT: "1" };

describe("chorus serve", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(env);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it.each([
    ["espeak", "Hello from the Chorus server. It speaks English out of the box."],
    ["flite", "Hello from the Chorus server, this time with Flite."],
  ])("serves speech from %s over HTTP", async (engine, text) => {
    const res = await fetch(`${server.url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text, engine }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/wav");
    expect(res.headers.get("x-chorus-engine")).toBe(engine);
    expectSpeech(decodeWav(Buffer.from(await res.arrayBuffer())), text.split(" ").length);
  });

  it("streams a long paragraph as chunked WAV", async () => {
    const sentences = Array.from({ length: 12 }, (_, i) => `This is sentence number ${i + 1} of a rather long paragraph.`).join(" ");
    const res = await fetch(`${server.url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: sentences, stream: true }),
    });
    const reader = res.body!.getReader();
    const parts: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect(parts.length).toBeGreaterThan(3);
    const wav = decodeWav(Buffer.concat(parts));
    expectSpeech(wav, 12 * 10);
  });

  it("answers bad input with JSON errors and keeps running", async () => {
    const bad = await fetch(`${server.url}/api/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: "{oops" });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.field).toBe("(body)");
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
  });
});

describe("chorus CLI", () => {
  it("say writes a valid WAV file", () => {
    const out = path.join(tmp, "hello.wav");
    const result = runChorus(["say", "Hello world", "-o", out], env);
    expect(result.status, result.stderr).toBe(0);
    expectSpeech(decodeWav(fs.readFileSync(out)), 2);
  });

  it("say writes to stdout when no file is given, and reads text from stdin", () => {
    const result = runChorus(["say", "--engine", "flite", "--voice", "awb"], env, "Piped in from standard input.");
    expect(result.status, result.stderr).toBe(0);
    const wav = decodeWav(result.stdout);
    expect(wav.sampleRate).toBe(16000);
    expectSpeech(wav, 5);
  });

  it("engines and voices list what is installed", () => {
    const engines = runChorus(["engines"], env);
    expect(engines.status).toBe(0);
    expect(engines.stdout.toString()).toMatch(/\* espeak\s+available\s+1\.0\.0/);
    expect(engines.stdout.toString()).toMatch(/flite/);
    const voices = runChorus(["voices", "--engine", "flite", "--json"], env);
    expect(JSON.parse(voices.stdout.toString()).map((v: { id: string }) => v.id)).toContain("slt");
  });

  it.each([
    [["say", "Hi", "--engine", "nope", "-o", "/dev/null"], 1, /no engine 'nope'/],
    [["say", "Hi", "--voice", "vulcan", "-o", "/dev/null"], 1, /no voice 'vulcan'/],
    [["say", "Hi", "--speed", "fast", "-o", "/dev/null"], 2, /--speed must be a number/],
    [["say", "-o", "/dev/null"], 2, /say needs text/],
    [["dance"], 2, /unknown command 'dance'/],
    [["say", "--bogus"], 2, /Unknown option '--bogus'/],
    [["voices", "--config", "/nonexistent.json"], 2, /cannot read config file/],
  ])("chorus %j fails clearly", (args, status, message) => {
    const result = runChorus(args as string[], env, "");
    expect(result.status).toBe(status);
    expect(result.stderr).toMatch(message);
  });
});
