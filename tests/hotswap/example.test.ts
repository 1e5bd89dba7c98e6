/** The shipped SAM example installs into a running server by copying its folder, and speaks. */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { decodeWav, expectSpeech } from "../helpers/audio.ts";
import { engine, startServer, tempDir, waitFor, type TestServer } from "./server.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
let server: TestServer;
let pluginsDir: string;

beforeAll(async () => {
  pluginsDir = tempDir("example-plugins");
  server = await startServer({ pluginDirs: [pluginsDir] });
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(pluginsDir, { recursive: true, force: true });
});

it("copying examples/plugins/sam into the plugins folder installs it, and it speaks", async () => {
  fs.cpSync(path.join(ROOT, "examples/plugins/sam"), path.join(pluginsDir, "sam"), { recursive: true });
  await waitFor(async () => (await engine(server, "sam"))?.version === "1.0.0", "SAM to be registered");
  const text = "Hello there. I am the software automatic mouth, speaking through Chorus.";
  const res = await fetch(`${server.url}/api/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ engine: "sam", text, voice: "little-robot" }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("x-chorus-voice")).toBe("little-robot");
  const wav = decodeWav(Buffer.from(await res.arrayBuffer()));
  expect(wav.sampleRate).toBe(22050);
  expectSpeech(wav, 12);
  const voices = (await (await fetch(`${server.url}/api/voices?engine=sam`)).json()) as { voices: string[] };
  expect(voices.voices).toContain("extra-terrestrial");
});
