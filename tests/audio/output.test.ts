/**
 * The output stage: every format, streamed and whole, from chunks at mixed rates (a fallback
 * engine mid-request), resampled once each to the response's rate; closing a body closes the
 * speech (its lease) even before the first read.
 */
import { describe, expect, it } from "vitest";
import { AUDIO_FORMATS, pcmAt, streamAudio, wavFile, wholeAudio, wholeAudioParts, WAV_UNKNOWN_SIZE } from "../../core/audio/output/index.ts";
import { resampleLinear } from "../../core/audio/output/resample.ts";
import { decodeAudio, tone } from "../compat/decode.ts";

type Chunk = { samples: Int16Array; sampleRate: number };

/** 0.5 s at 22050 Hz, then 0.5 s at 16000 Hz (as when an OOM re-placement lands on another engine). */
function mixed(): Chunk[] {
  return [
    ...tone(0.5, 22050, 440, 0.25).map((samples) => ({ samples, sampleRate: 22050 })),
    ...tone(0.5, 16000, 440, 0.25).map((samples) => ({ samples, sampleRate: 16000 })),
  ];
}

/** A speech over `chunks` that records whether it was closed. */
function speech(chunks: Chunk[]) {
  const state = { closed: false, read: 0 };
  const gen = (async function* () {
    try {
      for (const c of chunks) {
        state.read++;
        yield c;
      }
    } finally {
      state.closed = true;
    }
  })();
  // As the pipeline's chunks do: return() before the first read still runs the cleanup.
  const chunksIt = Object.assign(gen, {
    return: async () => {
      state.closed = true;
      return { done: true as const, value: undefined };
    },
  });
  return { state, audio: { sampleRate: chunks[0]!.sampleRate, chunks: chunksIt } };
}

const collect = async (it: AsyncIterable<Int16Array>) => {
  const out: number[] = [];
  for await (const c of it) out.push(...c);
  return Int16Array.from(out);
};

describe("resampling: once per chunk, to the response's rate", () => {
  it("each chunk goes through the resampler exactly once, from its own rate", async () => {
    const calls: [number, number][] = [];
    const counting = (s: Int16Array, from: number, to: number) => {
      calls.push([from, to]);
      return resampleLinear(s, from, to);
    };
    const chunks = mixed();
    const got = await collect(pcmAt(speech(chunks).audio, 24000, counting));
    expect(calls).toEqual(chunks.map((c) => [c.sampleRate, 24000]));
    // Identical to a direct conversion of each chunk: a second pass (e.g. through the first
    // chunk's rate) would change the samples and the count.
    const direct = chunks.flatMap((c) => [...resampleLinear(c.samples, c.sampleRate, 24000)]);
    expect([...got]).toEqual(direct);
  });

  it("without a rate, the response is at the first chunk's rate; chunks already at it are not touched", async () => {
    const chunks = mixed();
    let touched = 0;
    const out = await wholeAudio(speech(chunks).audio, {
      format: "pcm",
      resample: (s, from, to) => {
        if (from !== to) touched++;
        return resampleLinear(s, from, to);
      },
    });
    expect(out.sampleRate).toBe(22050);
    expect(touched).toBe(chunks.filter((c) => c.sampleRate !== 22050).length);
    expect(out.samples).toBe(22050 / 2 + Math.round((16000 / 4) * (22050 / 16000)) * 2);
  });
});

describe("formats", () => {
  it.each(AUDIO_FORMATS)("%s, whole: decodes to 1 s at 24 kHz", async (format) => {
    const out = await wholeAudio(speech(mixed()).audio, { format, sampleRate: 24000 });
    expect(out.sampleRate).toBe(24000);
    expect(out.contentType).toMatch(format === "pcm" ? /^audio\/pcm;rate=24000$/ : /^audio\//);
    const decoded = await decodeAudio(out.body, 24000, format === "pcm" ? ["-f", "s16le", "-ar", "24000", "-ac", "1"] : undefined);
    expect(decoded.durationSeconds).toBeGreaterThan(0.95);
    expect(decoded.durationSeconds).toBeLessThan(1.15);
  });

  it.each(AUDIO_FORMATS)("%s, streamed: the same audio, in pieces", async (format) => {
    const parts: Buffer[] = [];
    for await (const b of streamAudio(speech(mixed()).audio, { format, sampleRate: 24000 }).body) parts.push(b);
    // One piece per chunk (plus the header) for wav and pcm; when an encoder's bytes leave is its
    // own affair (encoders.test.ts checks they leave before the input ends).
    if (format === "wav" || format === "pcm") expect(parts.length).toBe(mixed().length + (format === "wav" ? 1 : 0));
    const decoded = await decodeAudio(Buffer.concat(parts), 24000, format === "pcm" ? ["-f", "s16le", "-ar", "24000", "-ac", "1"] : undefined);
    expect(decoded.durationSeconds).toBeGreaterThan(0.95);
  });

  it("a whole WAV's header has the exact sizes; a streamed one says unknown", async () => {
    const whole = (await wholeAudio(speech(mixed()).audio, { format: "wav", sampleRate: 24000 })).body;
    expect(whole.readUInt32LE(40)).toBe(whole.length - 44);
    expect(whole.readUInt32LE(24)).toBe(24000);
    const first = await streamAudio(speech(mixed()).audio, { format: "wav" }).body.next();
    expect((first.value as Buffer).readUInt32LE(40)).toBe(WAV_UNKNOWN_SIZE);
    expect((first.value as Buffer).readUInt32LE(24)).toBe(22050);
  });
});

describe("a whole file as parts (written by writev, never joined)", () => {
  it("wav: the header and views of the chunks themselves, byte-identical to wavFile()", async () => {
    const chunks = tone(1, 22050, 440, 0.25).map((samples) => ({ samples, sampleRate: 22050 }));
    const out = await wholeAudioParts(speech(chunks).audio, { format: "wav" });
    expect(out.body).toHaveLength(chunks.length + 1);
    // No copy: each part after the header is the engine chunk's own memory.
    out.body.slice(1).forEach((part, i) => {
      expect(part.buffer).toBe(chunks[i]!.samples.buffer);
      expect(part.byteOffset).toBe(chunks[i]!.samples.byteOffset);
    });
    const joined = Buffer.concat(out.body);
    expect(out.bytes).toBe(joined.length);
    expect(
      joined.equals(
        wavFile(
          22050,
          chunks.map((c) => c.samples),
        ),
      ),
    ).toBe(true);
    expect(joined.equals((await wholeAudio(speech(chunks).audio, { format: "wav" })).body)).toBe(true);
  });

  it("chunks at another rate are resampled into new memory; the file still matches wholeAudio", async () => {
    const out = await wholeAudioParts(speech(mixed()).audio, { format: "wav", sampleRate: 24000 });
    const joined = Buffer.concat(out.body);
    expect(joined.readUInt32LE(40)).toBe(joined.length - 44);
    expect(joined.equals((await wholeAudio(speech(mixed()).audio, { format: "wav", sampleRate: 24000 })).body)).toBe(true);
  });
});

describe("closing", () => {
  it.each(["wav", "pcm", "mp3", "flac"] as const)("%s: a body closed before its first read closes the speech", async (format) => {
    const { state, audio } = speech(mixed());
    await streamAudio(audio, { format }).body.return?.();
    expect(state.closed).toBe(true);
    expect(state.read).toBe(0);
  });

  it("a body closed part way closes the speech and reads no further", async () => {
    const { state, audio } = speech(mixed());
    const body = streamAudio(audio, { format: "pcm" }).body;
    await body.next();
    await body.next();
    await body.return?.();
    expect(state.closed).toBe(true);
    expect(state.read).toBeLessThan(mixed().length);
  });
});
