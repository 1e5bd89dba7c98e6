/** Streaming and cancellation over a real socket, with a slow test engine. */
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../core/server/app.ts";
import type { Host } from "../../core/host.ts";
import { decodeWav } from "../helpers/audio.ts";
import { testDataDir, testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";

const FIXTURES = path.join(import.meta.dirname, "fixtures", "plugins");
const dataDir = testDataDir();

let host: Host;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  host = testHost({ dataDir, engines: { dirs: ["engines", FIXTURES] } });
  app = await buildApp(host);
  url = await app.listen({ host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await app.close();
  await host.close();
});

const sentences = (n: number) => Array.from({ length: n }, (_, i) => `Sentence ${i} is here.`).join(" ");

/** Polls `check` until it holds (the test's own timeout is the only ceiling). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

const inFlight = () => host.scheduler.residents().find((r) => r.engineId === "ticker")?.inFlight;

describe("streaming", () => {
  it("sends the first sentence before the last one is synthesised", async () => {
    // The ticker speaks the first sentence, then waits for the gate file: the first audio
    // must arrive while the rest of the text cannot have been synthesised yet.
    const gate = path.join(tempDir("gate"), "open");
    const res = await fetch(`${url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: sentences(6), engine: "ticker", stream: true, options: { delayMs: 0, gate, gateAfter: 1 } }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const parts: Uint8Array[] = [];
    const received = () => parts.reduce((n, p) => n + p.length, 0);
    const firstSentence = 2 * Math.round(16000 * 0.05 * 4);
    while (received() < 44 + firstSentence) {
      const { done, value } = await reader.read();
      expect(done).toBe(false);
      parts.push(value!);
    }
    expect(fs.existsSync(gate)).toBe(false);
    expect(inFlight()).toBe(1); // the engine is still on the text
    fs.writeFileSync(gate, "");
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    const wav = decodeWav(Buffer.concat(parts));
    expect(wav.sampleRate).toBe(16000);
    expect(wav.samples.length).toBe(6 * Math.round(16000 * 0.05 * 4));
  });

  it("aborts the engine's work when the client disconnects", async () => {
    const gate = path.join(tempDir("gate"), "open"); // never opened: the engine is held mid-text
    const controller = new AbortController();
    const res = await fetch(`${url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: `Disconnect me now. ${sentences(20)}`, engine: "ticker", stream: true, options: { delayMs: 0, gate, gateAfter: 1 } }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read(); // the header and first sentence
    controller.abort();
    const marker = path.join(dataDir, "engines", "ticker");
    await until(() => fs.readdirSync(marker).some((f) => f.startsWith("aborted-")));
    // The lease went back: nothing is in flight on the engine any more.
    await until(() => inFlight() === 0);
    expect(fs.readdirSync(marker).filter((f) => f.startsWith("aborted-"))).toHaveLength(1);
  });
});
