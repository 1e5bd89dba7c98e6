/**
 * The spare ffmpeg (core/audio/encoders/ffmpeg.ts): after a stream starts ffmpeg, one more
 * process with the same command line waits for the next stream, which takes it instead of
 * starting its own (the start-up no longer comes before its first bytes). Real ffmpeg.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ffmpegStats } from "../../core/audio/encoders/ffmpeg.ts";
import { wholeAudio, type AudioFormat } from "../../core/audio/output/index.ts";
import { asSpeech, decodeAudio, fromArray, tone } from "../compat/decode.ts";

const encodeAll = async (format: AudioFormat, rate: number, pcm: AsyncIterable<Int16Array>) => (await wholeAudio(asSpeech(pcm, rate), { format })).body;

const RATE = 22050;
const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

afterEach(() => {
  delete process.env.FFMPEG_SPARES;
});

describe("spare ffmpeg", () => {
  it("the next stream of the same format takes the spare: one start per stream, none before its bytes", async () => {
    const first = await encodeAll("aac", RATE, fromArray(tone(0.5, RATE)));
    await until(() => ffmpegStats().spares >= 1, "a spare");
    const before = ffmpegStats().started;
    const second = await encodeAll("aac", RATE, fromArray(tone(0.5, RATE)));
    await until(() => ffmpegStats().started === before + 1 && ffmpegStats().spares >= 1, "the next spare");
    // The second stream started no ffmpeg of its own: the one started since is the next spare.
    expect(ffmpegStats().started).toBe(before + 1);
    for (const bytes of [first, second]) expect((await decodeAudio(bytes)).durationSeconds).toBeGreaterThan(0.4);
  });

  it("FFMPEG_SPARES=0: each stream starts its own, no spare is left", async () => {
    process.env.FFMPEG_SPARES = "0";
    const flac = await encodeAll("flac", 16000, fromArray(tone(0.3, 16000)));
    expect(flac.toString("ascii", 0, 4)).toBe("fLaC");
    await new Promise((r) => setImmediate(r));
    const before = ffmpegStats();
    await encodeAll("flac", 16000, fromArray(tone(0.3, 16000)));
    await new Promise((r) => setImmediate(r));
    expect(ffmpegStats().started).toBe(before.started + 1);
    expect(ffmpegStats().spares).toBe(before.spares);
  });
});
