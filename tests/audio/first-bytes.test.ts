/**
 * First bytes early (issue 15, TTFA): an engine's first chunk can be seconds of audio (a
 * sentence); every encoder must send out what it has encoded of it before it has encoded all
 * of it, the pool's first bytes must come from the stream's first slice alone (posted by
 * itself, so the encoder thread is idle when it answers), and the mp3 encoder a stream opens
 * must already be configured. Real encoders
 * (LAME/libopus in the pool's threads, ffmpeg for aac/flac); the output is decoded back.
 */
import { afterAll, describe, expect, it } from "vitest";
import { closeEncoderPool, poolStats } from "../../core/audio/encoders/index.ts";
import { FIRST_SLICE } from "../../core/audio/encoders/pool.ts";
import { streamAudio, wholeAudio, type AudioFormat } from "../../core/audio/output/index.ts";
import { asSpeech, decodeAudio, fromArray, tone } from "../compat/decode.ts";

const RATE = 22050;
const SECONDS = 8;

afterAll(() => closeEncoderPool());

describe("first bytes of a long first chunk", () => {
  it.each(["mp3", "opus", "aac", "flac"] as AudioFormat[])("%s: output comes out of one 8 s chunk before the input ends", async (format) => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    let ended = false;
    async function* oneLongChunk() {
      yield tone(SECONDS, RATE, 440, SECONDS)[0]!; // one chunk of 8 s
      await released; // no end of input until the test has seen output
      ended = true;
    }
    const out: Buffer[] = [];
    let beforeEnd = 0;
    // The pool's encoders (mp3, opus) answer slice by slice: several outputs. ffmpeg's (aac,
    // flac) come through a pipe, whose reads merge what ffmpeg wrote meanwhile: on a busy
    // machine all of a short FLAC can be one read, so there the test asks for one output.
    const wanted = format === "mp3" || format === "opus" ? 3 : 1;
    for await (const bytes of streamAudio(asSpeech(oneLongChunk(), RATE), { format }).body) {
      out.push(bytes);
      if (!ended) beforeEnd++;
      // Released only after output: an encoder that sends nothing until its input ends never
      // gets here, and the test times out.
      if (beforeEnd === wanted) release();
    }
    expect(beforeEnd).toBeGreaterThanOrEqual(wanted);
    const decoded = await decodeAudio(Buffer.concat(out), RATE);
    expect(decoded.durationSeconds).toBeGreaterThan(SECONDS - 0.05);
    expect(decoded.durationSeconds).toBeLessThan(SECONDS + 0.15);
  });

  // Every rate LAME takes (and opus through its resampler): the first slice is enough for a
  // first frame (LAME needs 1,024 samples up to 24 kHz, 1,536 above), and nothing else of the
  // chunk is posted before those bytes are out.
  const firstSliceCases: [AudioFormat, number][] = [
    ...[8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000].map((rate): [AudioFormat, number] => ["mp3", rate]),
    ["opus", 16000],
    ["opus", 22050],
  ];
  it.each(firstSliceCases)("%s at %i Hz: the first audio bytes come from the first slice alone, the rest follows", async (format, rate) => {
    const seconds = 3;
    const before = poolStats.slicesPosted;
    let postedAtFirstAudio: number | undefined;
    let firstAudio: Buffer | undefined;
    const out: Buffer[] = [];
    for await (const bytes of streamAudio(asSpeech(fromArray(tone(seconds, rate, 440, seconds)), rate), { format }).body) {
      out.push(bytes);
      const header = format === "opus" && (bytes.includes("OpusHead") || bytes.includes("OpusTags"));
      if (!firstAudio && !header) {
        firstAudio = bytes;
        postedAtFirstAudio = poolStats.slicesPosted - before;
      }
    }
    expect(postedAtFirstAudio).toBe(1);
    // An mp3 frame's sync word; an Ogg page.
    if (format === "mp3") expect([firstAudio![0], firstAudio![1]! & 0xe0]).toEqual([0xff, 0xe0]);
    else expect(firstAudio!.subarray(0, 4).toString()).toBe("OggS");
    // Then the rest of the chunk in long slices, all of it encoded.
    expect(poolStats.slicesPosted - before).toBe(1 + Math.ceil((seconds * rate - FIRST_SLICE) / 16384));
    const decoded = await decodeAudio(Buffer.concat(out), rate);
    expect(decoded.durationSeconds).toBeGreaterThan(seconds - 0.05);
    expect(decoded.durationSeconds).toBeLessThan(seconds + 0.2); // LAME's delay and padding: 0.17 s at 8 kHz
  });

  it("the first slice goes alone only for a streamed response on a thread with no other stream", async () => {
    const threads = process.env.CHORUS_ENCODER_THREADS;
    process.env.CHORUS_ENCODER_THREADS = "1"; // both streams below on one thread
    await closeEncoderPool();
    try {
      const alone = poolStats.firstSlicesAlone;
      // A whole file: nothing reads its bytes before the end, the round trip would be lost.
      const whole = (await wholeAudio(asSpeech(fromArray(tone(1, RATE, 440, 1)), RATE), { format: "mp3" })).body;
      expect((await decodeAudio(whole, RATE)).durationSeconds).toBeGreaterThan(0.95);
      expect(poolStats.firstSlicesAlone).toBe(alone);
      // A stream held open (its input waits) keeps the thread busy for a second stream.
      let release: () => void = () => undefined;
      const released = new Promise<void>((r) => (release = r));
      async function* held() {
        yield tone(1, RATE, 440, 1)[0]!;
        await released;
      }
      const first = streamAudio(asSpeech(held(), RATE), { format: "mp3" }).body;
      const firstOut = [(await first.next()).value as Buffer];
      expect(poolStats.firstSlicesAlone).toBe(alone + 1); // alone on its thread
      const second: Buffer[] = [];
      for await (const bytes of streamAudio(asSpeech(fromArray(tone(1, RATE, 440, 1)), RATE), { format: "mp3" }).body) second.push(bytes);
      expect(poolStats.firstSlicesAlone).toBe(alone + 1); // the thread had the first stream
      release();
      for await (const bytes of first) firstOut.push(bytes);
      for (const out of [firstOut, second]) expect((await decodeAudio(Buffer.concat(out), RATE)).durationSeconds).toBeGreaterThan(0.95);
    } finally {
      if (threads === undefined) delete process.env.CHORUS_ENCODER_THREADS;
      else process.env.CHORUS_ENCODER_THREADS = threads;
      await closeEncoderPool();
    }
  });

  it("mp3: a stream opens an encoder configured ahead (after one with the same settings ended)", async () => {
    const before = poolStats.preparedOpens;
    for (let i = 0; i < 4; i++) {
      const bytes = (await wholeAudio(asSpeech(fromArray(tone(0.5, RATE)), RATE), { format: "mp3" })).body;
      expect((await decodeAudio(bytes, RATE)).durationSeconds).toBeGreaterThan(0.45);
    }
    // Prepared after each end, off the answers' path; at least the later opens found one.
    expect(poolStats.preparedOpens - before).toBeGreaterThanOrEqual(2);
  });
});
