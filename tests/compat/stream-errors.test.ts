/**
 * A streamed response that fails before its first byte is still a proper error response
 * (status + JSON in the API's shape), not fastify's "invalid payload" 500 under an audio type.
 * ffmpeg is pointed at a path that does not exist and mp3/opus are sent through it too
 * (CHORUS_ENCODER=ffmpeg; by default they are encoded in-process), so every encoded format
 * fails at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChorus, type RunningChorus } from "./server.ts";

let chorus: RunningChorus;
const saved = process.env.FFMPEG_PATH;
const savedEncoder = process.env.CHORUS_ENCODER;
beforeAll(async () => {
  process.env.FFMPEG_PATH = "/nonexistent/ffmpeg";
  process.env.CHORUS_ENCODER = "ffmpeg";
  chorus = await startChorus();
});
afterAll(async () => {
  await chorus.close();
  if (saved === undefined) delete process.env.FFMPEG_PATH;
  else process.env.FFMPEG_PATH = saved;
  if (savedEncoder === undefined) delete process.env.CHORUS_ENCODER;
  else process.env.CHORUS_ENCODER = savedEncoder;
});

const speech = (body: Record<string, unknown>) =>
  fetch(`${chorus.url}/v1/audio/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tts-1", voice: "alloy", input: "Hello there.", ...body }) });

describe("encoder failure before the first byte", () => {
  it.each(["mp3", "opus", "aac", "flac"])("%s: 500 encoder_failed as OpenAI JSON", async (format) => {
    const res = await speech({ response_format: format });
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect((await res.json()).error).toMatchObject({ code: "encoder_failed", param: "response_format", message: expect.stringMatching(/cannot run ffmpeg/) });
  });

  it("SSE: the same error, not an event stream", async () => {
    const res = await speech({ response_format: "mp3", stream_format: "sse" });
    expect(res.status).toBe(500);
    expect((await res.json()).error.code).toBe("encoder_failed");
  });

  it("wav and pcm need no encoder and still work; the engine was given back each time", async () => {
    expect((await speech({ response_format: "wav" })).status).toBe(200);
    expect((await speech({ response_format: "pcm" })).status).toBe(200);
    // A failed response's lease ends as its pipeline unwinds, just after the error was sent: wait for that.
    const idle = () => chorus.host.scheduler.residents().every((r) => r.inFlight === 0);
    for (let i = 0; i < 500 && !idle(); i++) await new Promise((r) => setTimeout(r, 10));
    for (const r of chorus.host.scheduler.residents()) expect(r.inFlight).toBe(0);
  });
});
