/** Every format of /v1/audio/speech streams: the first bytes leave while later sentences are still being made. */
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AUDIO_FORMATS } from "../../core/audio/encoders/index.ts";
import { decodeAudio } from "./decode.ts";
import { startChorus, type RunningChorus } from "./server.ts";

const FIXTURES = path.join(import.meta.dirname, "fixtures", "plugins");
const DELAY = 400;
let chorus: RunningChorus;
beforeAll(async () => {
  chorus = await startChorus(
    { openai: { voices: { slow: { slowtone: { voice: "tone", options: { delayMs: DELAY } } } } } },
    { engines: { dirs: ["engines", FIXTURES] } },
  );
  // Load the engine first, so that the timings below are not a cold start.
  await (await fetch(`${chorus.url}/v1/audio/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "slowtone", voice: "tone", input: "warm" }) })).arrayBuffer();
});
afterAll(async () => chorus?.close());

it.each(AUDIO_FORMATS)("%s: first bytes arrive before synthesis ends", async (format) => {
  const started = Date.now();
  const res = await fetch(`${chorus.url}/v1/audio/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "slowtone", voice: "slow", input: "One two. Three four. Five six. Seven eight. Nine ten.", response_format: format }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("transfer-encoding")).toBe("chunked");
  const reader = res.body!.getReader();
  const parts: Uint8Array[] = [];
  let firstAt = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!firstAt) firstAt = Date.now() - started;
    parts.push(value);
  }
  const total = Date.now() - started;
  expect(total).toBeGreaterThanOrEqual(5 * DELAY - 50); // five sentences, each after DELAY ms
  expect(firstAt).toBeLessThan(2.5 * DELAY); // the first sentence's audio did not wait for the rest
  const decoded = await decodeAudio(Buffer.concat(parts), 16000, format === "pcm" ? ["-f", "s16le", "-ar", res.headers.get("x-sample-rate")!, "-ac", "1"] : undefined);
  expect(decoded.durationSeconds).toBeGreaterThan(2.4); // 5 x 0.5 s of tone
});
