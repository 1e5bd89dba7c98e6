/**
 * A voice id that is not ASCII (XTTS speakers are named after their clip files: `さくら.wav`)
 * in the X-Chorus-Voice header: Node refuses such a header value (ERR_INVALID_CHAR), so the
 * request failed after its synthesis had started. The header is percent-encoded (UTF-8) when the
 * value is not printable ASCII; decodeURIComponent gives the id back. The engine is a
 * stand-in (tests/compat/fixtures/unicode-plugins/uninames) with such ids.
 */
import path from "node:path";
import type { FastifyInstance, InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";

const FIXTURES = path.join(import.meta.dirname, "fixtures", "unicode-plugins");
let host: Host;
let app: FastifyInstance;
beforeAll(async () => {
  host = testHost({ engines: { dirs: ["engines", FIXTURES] }, dataDir: tempDir("unicode-voice-headers") });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

describe("X-Chorus-Voice for a voice id that is not ASCII", () => {
  it.each([
    ["native", "さくら", { method: "POST", url: "/api/speech", payload: { text: "Hi.", voice: "uninames:さくら" } }],
    ["native, streamed", "Amélie", { method: "POST", url: "/api/speech", payload: { text: "Hi.", voice: "uninames:Amélie", stream: true } }],
    ["OpenAI", "さくら", { method: "POST", url: "/v1/audio/speech", payload: { input: "Hi.", voice: "uninames:さくら", response_format: "wav" } }],
    ["xtts-api", "さくら", { method: "POST", url: "/tts_to_audio/", payload: { text: "Hi.", speaker_wav: "uninames:さくら", language: "ja" } }],
    ["AllTalk streaming", "さくら", { method: "GET", url: `/api/tts-generate-streaming?text=Hi.&voice=${encodeURIComponent("uninames:さくら")}` }],
  ] as const)("%s", async (_name, voice, request) => {
    const res = await app.inject(request as InjectOptions);
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^audio\//);
    expect(res.rawPayload.subarray(0, 4).toString("latin1")).toBe("RIFF");
    const header = String(res.headers["x-chorus-voice"]);
    expect(header).toMatch(/^[\x20-\x7e]+$/);
    expect(decodeURIComponent(header)).toBe(voice);
  });

  it("an ASCII id with a % is encoded too, so that decoding every value gives it back", async () => {
    const res = await app.inject({ method: "POST", url: "/api/speech", payload: { text: "Hi.", voice: "uninames:100%" } });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.headers["x-chorus-voice"]).toBe("100%25");
    expect(decodeURIComponent(String(res.headers["x-chorus-voice"]))).toBe("100%");
  });

  it("an ASCII id is sent as it is", async () => {
    const res = await app.inject({ method: "POST", url: "/api/speech", payload: { text: "Hi.", voice: "en-us" } });
    expect(res.headers["x-chorus-voice"]).toBe("en-us");
  });
});
