/** Test helpers: decode a WAV strictly and measure it. */
import { expect } from "vitest";
export interface DecodedWav {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Size field of the RIFF header and of the data chunk, as written. */
  riffSize: number;
  dataSize: number;
  samples: Int16Array;
  durationSeconds: number;
}

export function decodeWav(buf: Buffer): DecodedWav {
  if (buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") throw new Error("not a WAV");
  if (buf.toString("ascii", 12, 16) !== "fmt " || buf.toString("ascii", 36, 40) !== "data") throw new Error("not a canonical 44-byte-header WAV");
  const channels = buf.readUInt16LE(22);
  const sampleRate = buf.readUInt32LE(24);
  const bitsPerSample = buf.readUInt16LE(34);
  const riffSize = buf.readUInt32LE(4);
  const dataSize = buf.readUInt32LE(40);
  const body = buf.subarray(44);
  const samples = new Int16Array(body.buffer.slice(body.byteOffset, body.byteOffset + (body.length & ~1)));
  return { sampleRate, channels, bitsPerSample, riffSize, dataSize, samples, durationSeconds: samples.length / sampleRate / channels };
}

/** Root-mean-square level in [0, 1]. */
export function rms(samples: Int16Array): number {
  let acc = 0;
  for (const s of samples) acc += s * s;
  return samples.length ? Math.sqrt(acc / samples.length) / 32768 : 0;
}

/** Fraction of samples whose magnitude exceeds `threshold` (0..32767). */
export function activeFraction(samples: Int16Array, threshold = 500): number {
  let n = 0;
  for (const s of samples) if (Math.abs(s) > threshold) n++;
  return samples.length ? n / samples.length : 0;
}

/** Asserts the audio is speech-like: plausible duration for the word count and not silence. */
export function expectSpeech(wav: DecodedWav, words: number): void {
  const min = words * 0.12;
  const max = words * 1.2 + 1;
  const duration = `duration ${wav.durationSeconds.toFixed(2)} s for ${words} words (plausible: ${min}-${max} s)`;
  expect(wav.durationSeconds, duration).toBeGreaterThanOrEqual(min);
  expect(wav.durationSeconds, duration).toBeLessThanOrEqual(max);
  expect(rms(wav.samples), "audio is (nearly) silent").toBeGreaterThanOrEqual(0.01);
  expect(activeFraction(wav.samples), "audio is mostly silence").toBeGreaterThanOrEqual(0.1);
}
