/** Every encoder: output decodes to the same tone, magic bytes, streaming, failure and cleanup. */
import { describe, expect, it } from "vitest";
import { AUDIO_FORMATS, contentType, streamAudio, wholeAudio, type AudioFormat } from "../../core/audio/output/index.ts";
import { asSpeech, decodeAudio, fromArray, rmsOf, tone, zeroCrossingHz } from "../compat/decode.ts";

/** Through the output stage, as every route encodes. */
const encodeAll = async (format: AudioFormat, rate: number, pcm: AsyncIterable<Int16Array>) => (await wholeAudio(asSpeech(pcm, rate), { format })).body;
const encodeStream = (format: AudioFormat, rate: number, pcm: AsyncIterable<Int16Array>) => streamAudio(asSpeech(pcm, rate), { format }).body;

const RATE = 22050;

const MAGIC: Record<AudioFormat, (b: Buffer) => boolean> = {
  mp3: (b) => b[0] === 0xff && (b[1]! & 0xe0) === 0xe0,
  opus: (b) => b.toString("ascii", 0, 4) === "OggS" && b.includes(Buffer.from("OpusHead")),
  aac: (b) => b[0] === 0xff && (b[1]! & 0xf6) === 0xf0,
  flac: (b) => b.toString("ascii", 0, 4) === "fLaC",
  wav: (b) => b.toString("ascii", 0, 4) === "RIFF" && b.toString("ascii", 8, 12) === "WAVE",
  pcm: (b) => b.length === 2 * RATE,
};
const CODEC: Record<AudioFormat, RegExp> = {
  mp3: /Audio: mp3/,
  opus: /Audio: opus/,
  aac: /Audio: aac/,
  flac: /Audio: flac/,
  wav: /Audio: pcm_s16le/,
  pcm: /Audio: pcm_s16le/,
};

describe("encoders", () => {
  it.each(AUDIO_FORMATS)("%s: 1 s of 440 Hz decodes back to ~1 s of 440 Hz", async (format) => {
    const bytes = await encodeAll(format, RATE, fromArray(tone(1, RATE)));
    expect(MAGIC[format](bytes)).toBe(true);
    const decoded = await decodeAudio(bytes, RATE, format === "pcm" ? ["-f", "s16le", "-ar", String(RATE), "-ac", "1"] : undefined);
    expect(decoded.streamInfo).toMatch(CODEC[format]);
    expect(decoded.durationSeconds).toBeGreaterThan(0.9);
    expect(decoded.durationSeconds).toBeLessThan(1.15);
    // Trim encoder delay/padding, then the tone must be there at the right pitch and level.
    const body = decoded.samples.subarray(Math.round(0.1 * RATE), Math.round(0.85 * RATE));
    expect(zeroCrossingHz(body, RATE)).toBeGreaterThan(430);
    expect(zeroCrossingHz(body, RATE)).toBeLessThan(450);
    expect(rmsOf(body) / (12000 / Math.SQRT2)).toBeGreaterThan(0.8);
    expect(rmsOf(body) / (12000 / Math.SQRT2)).toBeLessThan(1.2);
  });

  it("content types match what clients expect", () => {
    expect(AUDIO_FORMATS.map((f) => contentType(f, 24000))).toEqual([
      "audio/mpeg",
      "audio/ogg",
      "audio/aac",
      "audio/flac",
      "audio/wav",
      "audio/pcm;rate=24000",
    ]);
  });

  it.each(AUDIO_FORMATS)("%s streams: bytes come out before the input has ended", async (format) => {
    const chunks = tone(3, RATE, 440, 0.5);
    let released = false;
    let fed = 0;
    let gate: () => void = () => undefined;
    const opened = new Promise<void>((r) => (gate = r));
    async function* slow() {
      for (const c of chunks) {
        yield c;
        fed++;
        // Feed no more until the consumer has seen output: an encoder that waits for the
        // whole input never gets it, and the test fails (by its timeout) instead of passing.
        if (fed === 2) await opened;
      }
      released = true;
    }
    const out: Buffer[] = [];
    let fedWhenFirstOutput = -1;
    for await (const bytes of encodeStream(format, RATE, slow())) {
      if (fedWhenFirstOutput < 0 && (format !== "wav" || out.length > 0)) {
        fedWhenFirstOutput = fed;
        gate();
      }
      out.push(bytes);
    }
    expect(released).toBe(true);
    expect(fedWhenFirstOutput).toBeLessThan(chunks.length);
    const decoded = await decodeAudio(Buffer.concat(out), RATE, format === "pcm" ? ["-f", "s16le", "-ar", String(RATE), "-ac", "1"] : undefined);
    expect(decoded.durationSeconds).toBeGreaterThan(2.9);
  });

  it("an input failure rejects the encoded stream with that error", async () => {
    async function* failing() {
      yield tone(0.5, RATE)[0]!;
      throw new Error("engine exploded");
    }
    await expect(encodeAll("mp3", RATE, failing())).rejects.toThrow("engine exploded");
    await expect(encodeAll("wav", RATE, failing())).rejects.toThrow("engine exploded");
  });

  it("stopping early closes the input (so a pipeline releases its lease)", async () => {
    let closed = false;
    async function* endless() {
      try {
        for (;;) {
          yield tone(0.25, RATE)[0]!;
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        closed = true;
      }
    }
    const stream = encodeStream("opus", RATE, endless());
    let got = 0;
    for await (const bytes of stream) {
      got += bytes.length;
      if (got > 2000) break;
    }
    // The encoder's return() waits for the input's, so the input is closed once the loop is left.
    expect(closed).toBe(true);
  });

  it("the test decoder is strict: truncated or garbage input is rejected", async () => {
    const mp3 = await encodeAll("mp3", RATE, fromArray(tone(1, RATE)));
    await expect(decodeAudio(Buffer.from("definitely not audio data, just text"))).rejects.toThrow();
    const flac = await encodeAll("flac", RATE, fromArray(tone(1, RATE)));
    const damaged = Buffer.from(flac);
    damaged.fill(0x55, damaged.length - 3000, damaged.length - 2000); // audio frames (not the padding block)
    await expect(decodeAudio(damaged)).rejects.toThrow();
    expect((await decodeAudio(mp3)).durationSeconds).toBeGreaterThan(0.9);
  });

  it("opus resamples rates libopus cannot take", async () => {
    const bytes = await encodeAll("opus", 22050, fromArray(tone(0.5, 22050)));
    const decoded = await decodeAudio(bytes, 22050);
    expect(decoded.streamInfo).toMatch(/24000 Hz|48000 Hz/);
    expect(decoded.durationSeconds).toBeGreaterThan(0.45);
  });
});
