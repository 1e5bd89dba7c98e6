// A minimal Ogg muxer for one Opus stream (RFC 3533 pages, RFC 7845 OpusHead/OpusTags).
// Granule positions count 48 kHz samples including the pre-skip, as RFC 7845 requires; the last
// page carries the exact end so that decoders trim the padding of the final frame.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

function crc32(bytes) {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]) & 0xff]) >>> 0;
  return crc >>> 0;
}

const VENDOR = "chorus (libopus)";

export class OggOpusWriter {
  constructor({ inputRate, preSkip, serial }) {
    this.inputRate = inputRate;
    this.preSkip = preSkip;
    this.serial = serial >>> 0;
    this.sequence = 0;
  }

  /** One Ogg page holding whole packets (each < 255 * 255 bytes, true of 20 ms Opus frames). */
  page(packets, granule, flags) {
    const lacing = [];
    for (const p of packets) {
      let n = p.length;
      while (n >= 255) {
        lacing.push(255);
        n -= 255;
      }
      lacing.push(n);
    }
    const bodyLength = packets.reduce((n, p) => n + p.length, 0);
    const page = new Uint8Array(27 + lacing.length + bodyLength);
    const view = new DataView(page.buffer);
    page.set([0x4f, 0x67, 0x67, 0x53], 0); // "OggS"
    page[4] = 0;
    page[5] = flags;
    view.setBigInt64(6, BigInt(granule), true);
    view.setUint32(14, this.serial, true);
    view.setUint32(18, this.sequence++, true);
    page[26] = lacing.length;
    page.set(lacing, 27);
    let offset = 27 + lacing.length;
    for (const p of packets) {
      page.set(p, offset);
      offset += p.length;
    }
    view.setUint32(22, crc32(page), true);
    return page;
  }

  /** The two header pages: OpusHead (beginning of stream) and OpusTags. */
  head() {
    const opusHead = new Uint8Array(19);
    const v = new DataView(opusHead.buffer);
    opusHead.set(new TextEncoder().encode("OpusHead"), 0);
    opusHead[8] = 1; // version
    opusHead[9] = 1; // channels
    v.setUint16(10, this.preSkip, true);
    v.setUint32(12, this.inputRate, true);
    v.setInt16(16, 0, true); // output gain
    opusHead[18] = 0; // mapping family
    const vendor = new TextEncoder().encode(VENDOR);
    const tags = new Uint8Array(8 + 4 + vendor.length + 4);
    const tv = new DataView(tags.buffer);
    tags.set(new TextEncoder().encode("OpusTags"), 0);
    tv.setUint32(8, vendor.length, true);
    tags.set(vendor, 12);
    tv.setUint32(12 + vendor.length, 0, true);
    const a = this.page([opusHead], 0, 0x02);
    const b = this.page([tags], 0, 0);
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }

  /**
   * Pages for `packets` (at most 50 a page, 1 s of audio), the last ending at `samples48`
   * decoded samples; `last` marks the end of the stream (an empty final page if need be).
   */
  pages(packets, samples48, last) {
    const parts = [];
    for (let i = 0; i < packets.length || (last && i === 0); i += 50) {
      const group = packets.slice(i, i + 50);
      const final = i + 50 >= packets.length;
      // 20 ms packets: 960 samples at 48 kHz each; only the stream's final packet may be short.
      const end = final ? samples48 : samples48 - (packets.length - (i + 50)) * 960;
      parts.push(this.page(group, this.preSkip + Math.round(end), final && last ? 0x04 : 0));
    }
    const size = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(size);
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
}
