/** Small PCM helpers engines commonly need. */
import type { AudioChunk } from "./engine.ts";

/** Float samples in [-1, 1] to 16-bit PCM (clamped, truncated toward zero). */
export function floatToInt16(samples: Float32Array, gain = 1): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]! * gain));
    out[i] = Math.trunc(v * 32767);
  }
  return out;
}

/** Reads the PCM data and rate of a canonical 16-bit mono/stereo WAV (stereo is downmixed). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function parseWav(bytes: Uint8Array): AudioChunk {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number) => String.fromCharCode(bytes[o]!, bytes[o + 1]!, bytes[o + 2]!, bytes[o + 3]!);
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new Error("not a RIFF/WAVE file");
  let offset = 12;
  let sampleRate = 0;
  let channels = 1;
  let bits = 16;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    let size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
    } else if (id === "data") {
      if (bits !== 16) throw new Error(`unsupported WAV sample width ${bits}`);
      if (size === 0xffffffff || body + size > bytes.length) size = bytes.length - body;
      const frames = Math.floor(size / 2 / channels);
      const samples = new Int16Array(frames);
      // Mono on a little-endian machine: the bytes are the samples (one copy, not a loop).
      if (channels === 1 && LITTLE_ENDIAN) {
        new Uint8Array(samples.buffer).set(bytes.subarray(body, body + frames * 2));
        if (!sampleRate) throw new Error("WAV data before fmt chunk");
        return { sampleRate, samples };
      }
      for (let i = 0; i < frames; i++) {
        let acc = 0;
        for (let c = 0; c < channels; c++) acc += view.getInt16(body + (i * channels + c) * 2, true);
        samples[i] = Math.round(acc / channels);
      }
      if (!sampleRate) throw new Error("WAV data before fmt chunk");
      return { sampleRate, samples };
    }
    offset = body + size + (size & 1);
  }
  throw new Error("WAV has no data chunk");
}
