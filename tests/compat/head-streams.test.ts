/**
 * HEAD on the GET streaming routes (xtts-api's /tts_stream, AllTalk's
 * /api/tts-generate-streaming): fastify's automatic HEAD ran the GET handler, so a HEAD
 * synthesised the whole text (holding an engine lease) for a body nobody read. Upstream
 * (FastAPI) has no HEAD on these routes either; they answer 404 now and start nothing. The same
 * for the scheduler's event stream, where a HEAD opened a subscription that never answered.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";

let host: Host;
let app: FastifyInstance;
beforeAll(async () => {
  host = testHost({ dataDir: tempDir("head-streams") });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

describe("HEAD on a streaming synthesis route starts no synthesis", () => {
  it.each([
    ["/tts_stream?text=Hello+there&speaker_wav=en-us&language=en"],
    ["/tts_stream/?text=Hello+there&speaker_wav=en-us&language=en"],
    ["/api/tts-generate-streaming?text=Hello+there&voice=en-us"],
  ])("%s", async (url) => {
    const start = vi.spyOn(host.pipeline, "start");
    try {
      const head = await app.inject({ method: "HEAD", url });
      expect(head.statusCode).toBe(404);
      expect(start).not.toHaveBeenCalled();
      // GET still streams the audio
      const get = await app.inject({ method: "GET", url });
      expect(get.statusCode).toBe(200);
      expect(get.headers["content-type"]).toMatch(/^audio\//);
      expect(get.rawPayload.subarray(0, 4).toString("latin1")).toBe("RIFF");
      expect(start).toHaveBeenCalledTimes(1);
    } finally {
      start.mockRestore();
    }
  });
});

describe("HEAD on the scheduler's event stream", () => {
  it("is a 404, not a subscription that never answers", async () => {
    const head = await app.inject({ method: "HEAD", url: "/api/scheduler/events" });
    expect(head.statusCode).toBe(404);
  });
});
