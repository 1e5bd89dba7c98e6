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

/**
 * The largest chunk the host takes in one message, bytes (docs/protocol.md); the host's runtime
 * splits a larger chunk into pieces of this size, copying it.
 */
export const MAX_CHUNK_BYTES = 256 * 1024;

/**
 * A WAV's audio as chunks the host can take without copying them: each at most `maxBytes`
 * (default MAX_CHUNK_BYTES), each in an ArrayBuffer of its own, marked `transfer`. The one
 * copy out of `bytes` is the same as `parseWav`'s; yield the chunks and do not touch them again.
 */
export function wavChunks(bytes: Uint8Array, maxBytes = MAX_CHUNK_BYTES): AudioChunk[] {
  const wav = wavData(bytes);
  const step = Math.max(1, Math.floor(maxBytes / 2));
  if (wav.channels !== 1 || !LITTLE_ENDIAN) {
    const { sampleRate, samples } = parseWav(bytes);
    const out: AudioChunk[] = [];
    for (let at = 0; at < samples.length; at += step) out.push({ sampleRate, samples: samples.slice(at, Math.min(samples.length, at + step)), transfer: true });
    return out;
  }
  // Mono on a little-endian machine: each piece is one copy of its bytes.
  const out: AudioChunk[] = [];
  for (let at = 0; at < wav.frames; at += step) {
    const samples = new Int16Array(Math.min(step, wav.frames - at));
    new Uint8Array(samples.buffer).set(bytes.subarray(wav.body + at * 2, wav.body + (at + samples.length) * 2));
    out.push({ sampleRate: wav.sampleRate, samples, transfer: true });
  }
  return out;
}

/** Reads the PCM data and rate of a canonical 16-bit mono/stereo WAV (stereo is downmixed). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function parseWav(bytes: Uint8Array): AudioChunk {
  const { sampleRate, channels, body, frames } = wavData(bytes);
  const samples = new Int16Array(frames);
  // Mono on a little-endian machine: the bytes are the samples (one copy, not a loop).
  if (channels === 1 && LITTLE_ENDIAN) {
    new Uint8Array(samples.buffer).set(bytes.subarray(body, body + frames * 2));
    return { sampleRate, samples };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < frames; i++) {
    let acc = 0;
    for (let c = 0; c < channels; c++) acc += view.getInt16(body + (i * channels + c) * 2, true);
    samples[i] = Math.round(acc / channels);
  }
  return { sampleRate, samples };
}

/** Where a 16-bit WAV's samples are: rate, channels, the data's offset and its frame count. */
function wavData(bytes: Uint8Array): { sampleRate: number; channels: number; body: number; frames: number } {
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
      if (!sampleRate) throw new Error("WAV data before fmt chunk");
      return { sampleRate, channels, body, frames: Math.floor(size / 2 / channels) };
    }
    offset = body + size + (size & 1);
  }
  throw new Error("WAV has no data chunk");
}
