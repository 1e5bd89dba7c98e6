/**
 * A voice that names its engine (`engine:voice`, on every surface) whose engine cannot serve:
 * the error names the field the client sent, the voice field, not an `engine` (or, on OpenAI,
 * `model`) the client never gave. The fixture engine broken-load fails to load (503).
 */
import path from "node:path";
import type { FastifyInstance, InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";

const FIXTURES = path.join(import.meta.dirname, "..", "host", "fixtures", "plugins");
let host: Host;
let app: FastifyInstance;
beforeAll(async () => {
  host = testHost({ engines: { dirs: ["engines", FIXTURES] }, dataDir: tempDir("engine-named-by-voice") });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

const FORM = { "content-type": "application/x-www-form-urlencoded" };
/** The error bodies of the four surfaces, as far as the field goes. */
type Body = { error: { field?: string; param?: string | null }; field?: string };

describe("an unavailable engine named by the voice: the error names the voice field", () => {
  it.each([
    ["native /api/speech", { method: "POST", url: "/api/speech", payload: { text: "Hi.", voice: "broken-load:x" } }, (b: Body) => b.error.field, "voice"],
    ["OpenAI", { method: "POST", url: "/v1/audio/speech", payload: { input: "Hi.", voice: "broken-load:x" } }, (b: Body) => b.error.param, "voice"],
    [
      "xtts-api",
      { method: "POST", url: "/tts_to_audio/", payload: { text: "Hi.", speaker_wav: "broken-load:x", language: "en" } },
      (b: Body) => b.field,
      "speaker_wav",
    ],
    [
      "AllTalk character voice",
      { method: "POST", url: "/api/tts-generate", payload: "text_input=Hi.&character_voice_gen=broken-load:x", headers: FORM },
      (b: Body) => b.error.field,
      "character_voice_gen",
    ],
    [
      "AllTalk narrator voice",
      {
        method: "POST",
        url: "/api/tts-generate",
        payload: "text_input=*She+waves.*+Hi.&narrator_enabled=true&character_voice_gen=en-us&narrator_voice_gen=broken-load:x",
        headers: FORM,
      },
      (b: Body) => b.error.field,
      "narrator_voice_gen",
    ],
    ["AllTalk streaming", { method: "GET", url: "/api/tts-generate-streaming?text=Hi.&voice=broken-load:x" }, (b: Body) => b.error.field, "voice"],
    ["AllTalk preview", { method: "POST", url: "/api/previewvoice/", payload: "voice=broken-load:x", headers: FORM }, (b: Body) => b.error.field, "voice"],
  ] as const)("%s", async (_name, request, field, expected) => {
    const res = await app.inject(request as InjectOptions);
    expect(res.statusCode, res.body).toBe(503);
    expect(field(res.json() as Body)).toBe(expected);
    expect(res.body).toContain("broken-load");
  });

  it("an engine the client named itself keeps its own field", async () => {
    const native = await app.inject({ method: "POST", url: "/api/speech", payload: { text: "Hi.", engine: "broken-load" } });
    expect(native.json().error.field).toBe("engine");
    const openai = await app.inject({ method: "POST", url: "/v1/audio/speech", payload: { input: "Hi.", voice: "x", model: "broken-load" } });
    expect(openai.json().error.param).toBe("model");
  });
});
