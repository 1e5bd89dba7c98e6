/**
 * Writing the total length into a header that was streamed without it, once the whole file
 * is known: a streamed WAV says 0xFFFFFFFF for its sizes, a streamed FLAC's STREAMINFO says 0
 * total samples and no MD5 (ffmpeg cannot seek back on a pipe). Decoders cope with both;
 * players then show no duration and some tools (soxi) report a huge one.
 */
import { createHash } from "node:crypto";

/**
 * Sets the RIFF and data sizes of a canonical 44-byte-header PCM WAV from its length
 * (`fileSize`: the whole file's, when `file` holds only its header).
 */
export function fixWavSizes(file: Buffer, fileSize = file.length): Buffer {
  if (
    file.length < 44 ||
    fileSize < 44 ||
    file.toString("ascii", 0, 4) !== "RIFF" ||
    file.toString("ascii", 8, 12) !== "WAVE" ||
    file.toString("ascii", 36, 40) !== "data"
  ) {
    throw new Error("not a WAV with a 44-byte header (as Chorus writes them)");
  }
  const data = fileSize - 44;
  file.writeUInt32LE(36 + data, 4);
  file.writeUInt32LE(data, 40);
  return file;
}

/**
 * Sets STREAMINFO's total-samples field (36 bits) and, when `pcm` is given (the s16le mono
 * samples that were encoded), its MD5 signature, as a seekable encoder would have.
 */
export function fixFlacStreamInfo(file: Buffer, totalSamples: number, pcm?: Buffer[]): Buffer {
  // "fLaC", then the first metadata block, which is always STREAMINFO (type 0, 34 bytes).
  if (file.length < 42 || file.toString("ascii", 0, 4) !== "fLaC" || (file[4]! & 0x7f) !== 0 || file.readUIntBE(5, 3) !== 34) {
    throw new Error("not a FLAC stream starting with STREAMINFO");
  }
  const info = 8;
  // Bytes 10-17 of STREAMINFO: rate (20 bits), channels-1 (3), bits-1 (5), total samples (36).
  const high = Math.floor(totalSamples / 2 ** 32) & 0x0f;
  file[info + 13] = (file[info + 13]! & 0xf0) | high;
  file.writeUInt32BE(totalSamples >>> 0, info + 14);
  if (pcm) {
    const md5 = createHash("md5");
    for (const part of pcm) md5.update(part);
    md5.digest().copy(file, info + 18);
  }
  return file;
}
