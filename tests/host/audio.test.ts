import { describe, expect, it } from "vitest";
import { resampleLinear } from "../../core/audio/output/resample.ts";
import { WAV_UNKNOWN_SIZE, pcmBytes, wavFile, wavHeader } from "../../core/audio/output/wav.ts";
import { MAX_CHUNK_BYTES, parseWav, wavChunks } from "../../packages/sdk/src/index.ts";
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

describe("wavChunks: a WAV as chunks the host can move, not copy", () => {
  it("pieces of at most the chunk limit, each its whole own buffer, marked transfer; together the WAV's samples", () => {
    const samples = Int16Array.from({ length: 300_001 }, (_, i) => ((i * 7) % 65536) - 32768);
    const wav = wavFile(22050, [samples]);
    const chunks = wavChunks(wav);
    expect(chunks).toHaveLength(Math.ceil((samples.length * 2) / MAX_CHUNK_BYTES));
    const buffers = new Set<ArrayBufferLike>();
    for (const c of chunks) {
      expect(c).toMatchObject({ sampleRate: 22050, transfer: true });
      expect(c.samples.byteLength).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
      expect(c.samples.byteOffset).toBe(0);
      expect(c.samples.byteLength).toBe(c.samples.buffer.byteLength);
      expect(c.samples.buffer).not.toBe(wav.buffer);
      buffers.add(c.samples.buffer);
    }
    expect(buffers.size).toBe(chunks.length);
    const joined = Buffer.concat(chunks.map((c) => Buffer.from(c.samples.buffer)));
    expect(joined.equals(Buffer.from(parseWav(wav).samples.buffer))).toBe(true);
    expect(joined.equals(Buffer.from(samples.buffer))).toBe(true);
  });

  it("a stereo WAV is downmixed as parseWav does; an empty one has no chunks", () => {
    const header = wavHeader(8000, 8);
    header.writeUInt16LE(2, 22); // stereo
    const stereo = Buffer.concat([header, Buffer.from(new Int16Array([100, 300, -100, -300]).buffer)]);
    expect(wavChunks(stereo).map((c) => [...c.samples])).toEqual([[...parseWav(stereo).samples]]);
    expect(wavChunks(wavFile(8000, []))).toEqual([]);
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
