/**
 * A streamed POST /api/speech whose engine fails after the first sentence (the studio's "Play
 * while it is made"): the 200 and the first audio are out, so the response can only be cut;
 * the server must log why, as it does for a request refused before its first byte (it logged
 * nothing, even at debug level, so neither the studio nor the operator could tell why the
 * audio stopped). Uses the web test engine `web-tone-a` ("#fail" in a sentence fails it).
 */
import path from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHost, type Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { testConfig } from "../helpers/host.ts";
import { waitFor } from "../hotswap/server.ts";

const lines: Record<string, unknown>[] = [];
let host: Host;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const config = testConfig({
    engines: { dirs: [path.join(import.meta.dirname, "fixtures", "plugins")], default: "web-tone-a" },
    scheduler: { devices: { simulated: [{ name: "Test card", totalMb: 4096, heldByOthersMb: 1024 }] }, reserveMb: 256, reservePercent: 0 },
  });
  host = createHost(config, { log: pino({ level: "info" }, sink) });
  app = await buildApp(host);
  base = await app.listen({ port: 0, host: "127.0.0.1" });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await host?.close();
});

const FAILING = "The first sentence plays. The second one #fail breaks.";

/** Every surface that streams: its request for FAILING on web-tone-a (the default engine here). */
const SURFACES: [string, string, RequestInit][] = [
  [
    "native",
    "/api/speech",
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: FAILING, engine: "web-tone-a", format: "pcm", stream: true }),
    },
  ],
  [
    "OpenAI",
    "/v1/audio/speech",
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "web-tone-a", input: FAILING, voice: "low", response_format: "pcm" }),
    },
  ],
  ["AllTalk", `/api/tts-generate-streaming?text=${encodeURIComponent(FAILING)}&voice=low&language=en&output_file=x`, { method: "GET" }],
  ["xtts-api", `/tts_stream?text=${encodeURIComponent(FAILING)}&speaker_wav=low&language=en`, { method: "GET" }],
];

describe("a streamed speech request that fails after its first audio", () => {
  it.each(SURFACES)("%s: is cut, and the server logs the engine's error with its code", async (_surface, route, init) => {
    lines.length = 0;
    const res = await fetch(`${base}${route}`, init);
    expect(res.status, await (res.status === 200 ? "" : res.clone().text())).toBe(200);
    const reader = res.body!.getReader();
    let bytes = 0;
    let cut = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        bytes += value.length;
      }
    } catch {
      cut = true;
    }
    expect(bytes).toBeGreaterThan(0); // the first sentence arrived
    expect(cut).toBe(true); // and the response did not end as if complete
    const logged = await waitFor(() => lines.find((l) => l.msg === "request failed" && l.code === "CHORUS_ERR_ENGINE_FAILED"), "the failure in the log");
    expect(String(logged.reason)).toContain("the test engine was asked to fail");
    expect(logged.level).toBe(40);
  });
});

describe("a failure after the first byte is logged once", () => {
  const failures = () => lines.filter((l) => l.msg === "request failed" && l.code === "CHORUS_ERR_ENGINE_FAILED");
  it("an OpenAI SSE stream's: its error event, and one log line", async () => {
    lines.length = 0;
    const res = await fetch(`${base}/v1/audio/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "web-tone-a", input: FAILING, voice: "low", response_format: "pcm", stream_format: "sse" }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('"type":"error"');
    await waitFor(() => failures().length > 0 || undefined, "the failure in the log");
    expect(failures()).toHaveLength(1);
  });
});
