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

/** A finished request: status, type and the whole body (read, so the response has ended). */
async function speech(body: Record<string, unknown>) {
  const res = await fetch(`${chorus.url}/v1/audio/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "tts-1", voice: "alloy", input: "Hello there.", ...body }),
  });
  return { status: res.status, type: res.headers.get("content-type"), body: Buffer.from(await res.arrayBuffer()) };
}

/** Every engine instance has had its lease back (checked once the response has ended). */
function expectAllGivenBack() {
  const residents = chorus.host.scheduler.residents();
  expect(residents.length).toBeGreaterThan(0);
  for (const r of residents) expect(r.inFlight).toBe(0);
}

describe("encoder failure before the first byte", () => {
  it.each(["mp3", "opus", "aac", "flac"])("%s: 500 encoder_failed as OpenAI JSON, engine given back", async (format) => {
    const res = await speech({ response_format: format });
    expect(res.status).toBe(500);
    expect(res.type).toMatch(/^application\/json/);
    expect(JSON.parse(res.body.toString()).error).toMatchObject({
      code: "encoder_failed",
      param: "response_format",
      message: expect.stringMatching(/cannot run ffmpeg/),
    });
    expectAllGivenBack();
  });

  it("SSE: the same error, not an event stream", async () => {
    const res = await speech({ response_format: "mp3", stream_format: "sse" });
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body.toString()).error.code).toBe("encoder_failed");
    expectAllGivenBack();
  });

  it("wav and pcm need no encoder and still work; the engine was given back each time", async () => {
    const wav = await speech({ response_format: "wav" });
    expect(wav.status).toBe(200);
    expect(wav.body.subarray(0, 4).toString()).toBe("RIFF");
    expectAllGivenBack();
    const pcm = await speech({ response_format: "pcm" });
    expect(pcm.status).toBe(200);
    expect(pcm.body.length).toBeGreaterThan(1000);
    expectAllGivenBack();
  });
});
