/**
 * Defect 9 (issue 11): with an API key set, /audio/... files could not be played by an
 * <audio> element (it cannot send the key). The AllTalk API now hands out links with a
 * short-lived signed token; the token opens that file only, and only until it expires.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { audioToken, audioTokenValid } from "../../core/server/audio-token.ts";
import { testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";

const KEY = "s3cret-key";
let host: Host;
let app: FastifyInstance;
beforeAll(async () => {
  host = testHost({ log: { level: "silent" }, dataDir: tempDir("token"), compat: { apiKey: KEY } });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

const generate = (name: string) =>
  app.inject({
    method: "POST",
    url: "/api/tts-generate",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/x-www-form-urlencoded" },
    payload: new URLSearchParams({
      text_input: "Hi.",
      character_voice_gen: "en-us",
      language: "en",
      output_file_name: name,
      output_file_timestamp: "false",
      text_filtering: "none",
      narrator_enabled: "false",
    }).toString(),
  });

describe("signed audio links", () => {
  it("the URL handed out plays without the key; the bare path and other files still need it", async () => {
    const res = await generate("tokentest");
    expect(res.statusCode, res.body).toBe(200);
    const url = res.json().output_file_url as string;
    expect(url).toMatch(/^\/audio\/tokentest\.wav\?token=\d+\.[A-Za-z0-9_-]{43}$/);
    const played = await app.inject(url);
    expect(played.statusCode).toBe(200);
    expect(played.rawPayload.subarray(0, 4).toString()).toBe("RIFF");
    expect((await app.inject("/audio/tokentest.wav")).statusCode).toBe(401);
    await generate("other");
    expect((await app.inject(url.replace("tokentest", "other"))).statusCode).toBe(401);
    expect((await app.inject(`${url.slice(0, -2)}xx`)).statusCode).toBe(401);
  });

  it("tokens expire", () => {
    const t = audioToken("a.wav", KEY, 60, 1_000_000);
    expect(audioTokenValid("a.wav", t, KEY, 1_000_000 + 59_000)).toBe(true);
    expect(audioTokenValid("a.wav", t, KEY, 1_000_000 + 61_000)).toBe(false);
    expect(audioTokenValid("a.wav", t, "other-key", 1_000_000)).toBe(false);
  });
});
