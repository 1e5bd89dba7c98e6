import { describe, expect, it } from "vitest";
import { resampleLinear } from "../../core/audio/output/resample.ts";
import { WAV_UNKNOWN_SIZE, pcmBytes, wavFile, wavHeader } from "../../core/audio/output/wav.ts";
import { parseWav } from "../../packages/sdk/src/index.ts";
import { decodeWav } from "../helpers/audio.ts";

describe("WAV", () => {
  it("writes a header correct for the total length", () => {
    const a = new Int16Array([1, -2, 3]);
    const b = new Int16Array([32767, -32768]);
    const wav = decodeWav(wavFile(22050, [a, b]));
    expect(wav).toMatchObject({ sampleRate: 22050, channels: 1, bitsPerSample: 16, dataSize: 10, riffSize: 46 });
    expect([...wav.samples]).toEqual([1, -2, 3, 32767, -32768]);
  });

  it("marks a streamed header's sizes as unknown", () => {
    const h = wavHeader(16000);
    expect(h.readUInt32LE(4)).toBe(WAV_UNKNOWN_SIZE);
    expect(h.readUInt32LE(40)).toBe(WAV_UNKNOWN_SIZE);
    expect(h.readUInt32LE(28)).toBe(32000);
  });

  it("round-trips through the SDK's WAV reader", () => {
    const samples = Int16Array.from({ length: 100 }, (_, i) => i * 100 - 5000);
    const chunk = parseWav(wavFile(8000, [samples]));
    expect(chunk.sampleRate).toBe(8000);
    expect([...chunk.samples]).toEqual([...samples]);
    expect(pcmBytes(samples).readInt16LE(2)).toBe(-4900);
  });
});

describe("resampling", () => {
  it("changes length by the rate ratio and keeps a ramp a ramp", () => {
    const ramp = Int16Array.from({ length: 160 }, (_, i) => i * 10);
    const up = resampleLinear(ramp, 8000, 16000);
    expect(up.length).toBe(320);
    expect(up[2]).toBe(10);
    expect(resampleLinear(ramp, 16000, 16000)).toBe(ramp);
  });
});
