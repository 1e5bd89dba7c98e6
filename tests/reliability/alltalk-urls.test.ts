/**
 * Defect 7 (issue 11): an AllTalk `output_file_name` of 74+ characters gave an
 * `output_file_url` answering 414 (fastify's maxParamLength, 100, is below the longest name,
 * 80 + 27 characters of timestamp and extension). Every URL the server hands out is fetched here.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";

let host: Host;
let app: FastifyInstance;
beforeAll(async () => {
  host = testHost({ log: { level: "silent" }, dataDir: tempDir("urls") });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

describe("AllTalk file URLs are always fetchable", () => {
  it.each([
    [1, "true"],
    [74, "true"],
    [80, "true"],
    [300, "true"],
    [300, "false"],
  ])("a %i-character name (timestamp %s)", async (n, timestamp) => {
    const res = await app.inject({
      method: "POST",
      url: "/api/tts-generate",
      payload: new URLSearchParams({
        text_input: "Hi.",
        character_voice_gen: "en-us",
        language: "en",
        output_file_name: "n".repeat(n),
        output_file_timestamp: timestamp,
        text_filtering: "none",
        narrator_enabled: "false",
      }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.statusCode, res.body).toBe(200);
    for (const key of ["output_file_url", "output_cache_url"]) {
      const url = res.json()[key] as string;
      const file = await app.inject(url);
      expect(file.statusCode, `${key} ${url}: ${file.body.slice(0, 200)}`).toBe(200);
      expect(file.rawPayload.subarray(0, 4).toString()).toBe("RIFF");
    }
  });
});
