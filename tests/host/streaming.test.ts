/** Streaming and cancellation over a real socket, with a slow test engine. */
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../core/server/app.ts";
import type { Host } from "../../core/host.ts";
import { decodeWav } from "../helpers/audio.ts";
import { testHost } from "../helpers/host.ts";

const FIXTURES = path.join(import.meta.dirname, "fixtures", "plugins");
const dataDir = path.resolve("var/test-streaming");

let host: Host;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  fs.rmSync(dataDir, { recursive: true, force: true });
  host = testHost({ dataDir, engines: { dirs: ["engines", FIXTURES] } });
  app = await buildApp(host);
  url = await app.listen({ host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await app.close();
  await host.close();
});

const sentences = (n: number) => Array.from({ length: n }, (_, i) => `Sentence ${i} is here.`).join(" ");

describe("streaming", () => {
  it("sends the first sentence before the last one is synthesised", async () => {
    const started = performance.now();
    const res = await fetch(`${url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: sentences(6), engine: "ticker", stream: true, options: { delayMs: 250 } }),
    });
    const reader = res.body!.getReader();
    const arrivals: number[] = [];
    const parts: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(performance.now() - started);
      parts.push(value);
    }
    // Six sentences at 250 ms each take at least 1.5 s; the first audio came long before that.
    const total = performance.now() - started;
    expect(total).toBeGreaterThan(1400);
    expect(arrivals[0]!).toBeLessThan(total - 750);
    const wav = decodeWav(Buffer.concat(parts));
    expect(wav.sampleRate).toBe(16000);
    expect(wav.samples.length).toBe(6 * Math.round(16000 * 0.05 * 4));
  });

  it("aborts the engine's work when the client disconnects", async () => {
    const controller = new AbortController();
    const res = await fetch(`${url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: `Disconnect me now. ${sentences(20)}`, engine: "ticker", stream: true, options: { delayMs: 300 } }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read(); // the header and first sentence
    controller.abort();
    const marker = path.join(dataDir, "engines", "ticker");
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !fs.readdirSync(marker).some((f) => f.startsWith("aborted-"))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(fs.readdirSync(marker).filter((f) => f.startsWith("aborted-"))).toHaveLength(1);
    // The lease went back: nothing is in flight on the engine any more.
    while (Date.now() < deadline && host.scheduler.residents().some((r) => r.inFlight > 0)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(host.scheduler.residents().find((r) => r.engineId === "ticker")?.inFlight).toBe(0);
  });
});
