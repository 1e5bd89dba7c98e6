/** The in-process encoder pool: threads are started once and reused by every later stream. */
import { afterAll, describe, expect, it } from "vitest";
import { closeEncoderPool, poolStats } from "../../core/audio/encoders/index.ts";
import { poolSize } from "../../core/audio/encoders/pool.ts";
import { streamAudio, wholeAudio, type AudioFormat } from "../../core/audio/output/index.ts";
import { asSpeech, decodeAudio, fromArray, tone } from "../compat/decode.ts";

const encodeAll = async (format: AudioFormat, rate: number, pcm: AsyncIterable<Int16Array>) => (await wholeAudio(asSpeech(pcm, rate), { format })).body;

const RATE = 22050;

describe("encoder pool", () => {
  afterAll(() => closeEncoderPool());

  it("reuses its worker threads across streams, sequential and concurrent", async () => {
    await encodeAll("mp3", RATE, fromArray(tone(0.3, RATE)));
    const started = poolStats.workersStarted;
    const served = poolStats.streamsServed;
    expect(started).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) await encodeAll(i % 2 ? "opus" : "mp3", RATE, fromArray(tone(0.3, RATE)));
    const concurrent = await Promise.all(Array.from({ length: 8 }, (_, i) => encodeAll(i % 2 ? "opus" : "mp3", RATE, fromArray(tone(0.5, RATE)))));
    expect(poolStats.streamsServed - served).toBe(13);
    // No thread per stream: at most the pool's size was ever started.
    expect(poolStats.workersStarted).toBeLessThanOrEqual(Math.max(started, poolSize()));
    expect(poolStats.threadIds.size).toBeLessThanOrEqual(poolSize());
    // Streams encoded at the same time on shared threads did not mix their state.
    for (const bytes of concurrent) expect((await decodeAudio(bytes, RATE)).durationSeconds).toBeGreaterThan(0.45);
  });

  it("an abandoned stream leaves its thread usable for the next one", async () => {
    async function* endless() {
      for (;;) yield tone(0.25, RATE)[0]!;
    }
    let got = 0;
    for await (const bytes of streamAudio(asSpeech(endless(), RATE), { format: "mp3" }).body) {
      got += bytes.length;
      if (got > 4000) break;
    }
    const before = poolStats.workersStarted;
    const bytes = await encodeAll("mp3", RATE, fromArray(tone(1, RATE)));
    expect((await decodeAudio(bytes, RATE)).durationSeconds).toBeGreaterThan(0.9);
    expect(poolStats.workersStarted).toBe(before);
  });
});
