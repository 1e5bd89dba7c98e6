/** 16-bit mono PCM as bytes, and the RIFF/WAVE header around it. */

/** Sizes used in a streamed WAV whose length is unknown when the header leaves. */
export const WAV_UNKNOWN_SIZE = 0xffffffff;

/** 44-byte header of a 16-bit mono PCM WAV; `dataBytes` undefined when streaming. */
export function wavHeader(sampleRate: number, dataBytes?: number): Buffer {
  const header = Buffer.alloc(44);
  const data = dataBytes ?? WAV_UNKNOWN_SIZE;
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(dataBytes === undefined ? WAV_UNKNOWN_SIZE : 36 + data, 4);
  header.write("WAVE", 8, "ascii");
  header.write("fmt ", 12, "ascii");
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write("data", 36, "ascii");
  header.writeUInt32LE(data, 40);
  return header;
}

/** Little-endian bytes of 16-bit samples (a view, no copy, on little-endian machines). */
export function pcmBytes(samples: Int16Array): Buffer {
  if (littleEndian) return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => out.writeInt16LE(s, i * 2));
  return out;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A complete WAV file as its parts, not joined: the header (with the total sizes), then each
 * chunk's bytes as a view of the chunk (no copy on little-endian machines). Written one after
 * the other (a socket's writev) they are exactly `wavFile`'s bytes.
 */
export function wavParts(sampleRate: number, chunks: Int16Array[]): Buffer[] {
  const bodies = chunks.map(pcmBytes);
  const size = bodies.reduce((n, b) => n + b.length, 0);
  return [wavHeader(sampleRate, size), ...bodies];
}

/** A complete WAV file from a list of chunks at one sample rate. */
export function wavFile(sampleRate: number, chunks: Int16Array[]): Buffer {
  const parts = wavParts(sampleRate, chunks);
  return Buffer.concat(
    parts,
    parts.reduce((n, b) => n + b.length, 0),
  );
}
