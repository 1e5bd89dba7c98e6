/**
 * Every format of /v1/audio/speech streams: the first bytes leave while later sentences are
 * still being made. The engine makes four of the five sentences, then waits for a gate file
 * that the test creates only once the first bytes have arrived: no timing involved.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AUDIO_FORMATS } from "../../core/audio/output/formats.ts";
import { tempDir } from "../helpers/temp.ts";
import { decodeAudio } from "./decode.ts";
import { startChorus, type RunningChorus } from "./server.ts";

const FIXTURES = path.join(import.meta.dirname, "fixtures", "plugins");
const gates = tempDir("gates");
const gate = (format: string) => path.join(gates, format);
let chorus: RunningChorus;
beforeAll(async () => {
  // One voice per format, each with its own gate (the engine counts sentences per gate).
  const slow = Object.fromEntries(AUDIO_FORMATS.map((f) => [`slow-${f}`, { voice: "tone", options: { delayMs: 0, gate: gate(f), gateAfter: 4 } }]));
  chorus = await startChorus(
    { openai: { voices: { slow: { slowtone: { voice: "tone" } }, ...Object.fromEntries(Object.entries(slow).map(([k, v]) => [k, { slowtone: v }])) } } },
    { engines: { dirs: ["engines", FIXTURES] } },
  );
  await (
    await fetch(`${chorus.url}/v1/audio/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "slowtone", voice: "slow", input: "warm" }),
    })
  ).arrayBuffer();
});
afterAll(async () => chorus?.close());

it.each(AUDIO_FORMATS)("%s: first bytes arrive before synthesis ends", async (format) => {
  const res = await fetch(`${chorus.url}/v1/audio/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "slowtone",
      voice: `slow-${format}`,
      input: "One two. Three four. Five six. Seven eight. Nine ten.",
      response_format: format,
    }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("transfer-encoding")).toBe("chunked");
  const reader = res.body!.getReader();
  const first = await reader.read();
  expect(first.done).toBe(false);
  // The first bytes are here, and the fifth sentence cannot have been made yet.
  expect(fs.existsSync(gate(format))).toBe(false);
  expect(chorus.host.scheduler.residents().find((r) => r.engineId === "slowtone")?.inFlight).toBe(1);
  fs.writeFileSync(gate(format), "");
  const parts: Uint8Array[] = [first.value!];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const decoded = await decodeAudio(
    Buffer.concat(parts),
    16000,
    format === "pcm" ? ["-f", "s16le", "-ar", res.headers.get("x-sample-rate")!, "-ac", "1"] : undefined,
  );
  expect(decoded.durationSeconds).toBeGreaterThan(2.4); // 5 x 0.5 s of tone
});
