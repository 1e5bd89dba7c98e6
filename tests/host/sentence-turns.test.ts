/**
 * Fairness through the real pipeline and an engine in its worker (the ticker test engine, one
 * instance, maxParallel 1): a 1-sentence request started while a 30-sentence one streams is
 * served between two of the long one's sentences, not after all of them. Checked by order
 * (how many of the long one's sentences had arrived when the short one was complete), with
 * `scheduler.sentenceTurns` on and, for contrast, off.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Host } from "../../core/host.ts";
import { speechRequest, testHost } from "../helpers/host.ts";

const FIXTURES = path.join(import.meta.dirname, "fixtures", "plugins");
const hosts: Host[] = [];
afterAll(async () => {
  for (const h of hosts) await h.close();
});

const LONG = Array.from({ length: 30 }, (_, i) => `Sentence ${i} is here.`).join(" ");

async function longChunksWhenShortDone(sentenceTurns: boolean): Promise<{ atShortDone: number; total: number }> {
  const dataDir = path.resolve(`var/test-turns-${sentenceTurns}`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  const host = testHost({ dataDir, engines: { dirs: ["engines", FIXTURES] }, scheduler: { sentenceTurns } });
  hosts.push(host);
  const job = (text: string) => speechRequest({ text, engine: "ticker", options: { delayMs: 20 } });
  const long = await host.pipeline.start(job(LONG), new AbortController().signal);
  let received = 1; // start() has the first chunk
  let atShortDone = -1;
  let short: Promise<void> | undefined;
  for await (const _ of long.chunks) {
    received++;
    if (received === 2) {
      short = (async () => {
        const s = await host.pipeline.start(job("Short one."), new AbortController().signal);
        for await (const __ of s.chunks) void __;
        atShortDone = received;
      })();
    }
  }
  await short;
  return { atShortDone, total: received };
}

describe("sentence turns", () => {
  it("a short request is served between the long one's sentences, in arrival order", async () => {
    const on = await longChunksWhenShortDone(true);
    expect(on.total).toBeGreaterThanOrEqual(30);
    expect(on.atShortDone).toBeGreaterThan(0);
    expect(on.atShortDone).toBeLessThan(10); // after a sentence or two of the long one
  });

  it("without turns the short request waits for the whole long one", async () => {
    const off = await longChunksWhenShortDone(false);
    expect(off.atShortDone).toBeGreaterThanOrEqual(off.total - 1);
  });
});
