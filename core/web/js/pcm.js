/**
 * PCM and WAV in the browser: 16-bit little-endian mono samples as /api/speech streams
 * them (`format: "pcm"`), cut anywhere by the network. Pure (tests/web/pcm.test.ts).
 */

/** Turns network chunks into whole samples, keeping an odd trailing byte for the next chunk. */
export class PcmDecoder {
  #carry = null;

  /** @param {Uint8Array} bytes @returns {Int16Array} */
  push(bytes) {
    let data = bytes;
    if (this.#carry !== null) {
      data = new Uint8Array(bytes.length + 1);
      data[0] = this.#carry;
      data.set(bytes, 1);
      this.#carry = null;
    }
    const whole = data.length - (data.length % 2);
    if (whole < data.length) this.#carry = data[data.length - 1];
    const out = new Int16Array(whole / 2);
    const view = new DataView(data.buffer, data.byteOffset, whole);
    for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
    return out;
  }
}

export function toFloat32(samples) {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] / 32768;
  return out;
}

/** Linear resampling (narrator parts from engines with other rates join one clip). */
export function resample(samples, from, to) {
  if (from === to || !samples.length) return samples;
  const n = Math.max(1, Math.round((samples.length * to) / from));
  const out = new Int16Array(n);
  const step = from / to;
  for (let i = 0; i < n; i++) {
    const x = i * step;
    const a = Math.floor(x);
    const b = Math.min(a + 1, samples.length - 1);
    out[i] = Math.round(samples[Math.min(a, samples.length - 1)] * (1 - (x - a)) + samples[b] * (x - a));
  }
  return out;
}

/** A WAV file (RIFF, PCM 16-bit mono) of the chunks. */
export function wavBytes(sampleRate, chunks) {
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(44 + length * 2);
  const v = new DataView(out.buffer);
  const ascii = (at, s) => [...s].forEach((ch, i) => v.setUint8(at + i, ch.charCodeAt(0)));
  ascii(0, "RIFF");
  v.setUint32(4, 36 + length * 2, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, "data");
  v.setUint32(40, length * 2, true);
  let at = 44;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++, at += 2) v.setInt16(at, c[i], true);
  }
  return out;
}

export function durationSeconds(sampleRate, chunks) {
  return chunks.reduce((n, c) => n + c.length, 0) / sampleRate;
}
