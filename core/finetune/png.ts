/** The clip-length histogram as a PNG (`chorus finetune check --plot FILE.png`): bars, axis, digits. */
import zlib from "node:zlib";
import type { Bin } from "./report.ts";

// 3x5 digits, rows top to bottom, 3 bits each.
const DIGITS = [
  "111101101101111",
  "010110010010111",
  "111001111100111",
  "111001111001111",
  "101101111001001",
  "111100111001111",
  "111100111101111",
  "111001001001001",
  "111101111101111",
  "111101111001111",
];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export function histogramPng(bins: Bin[], maxClipSeconds: number): Buffer {
  const scale = 2;
  const barW = 24;
  const plotH = 160;
  const left = 10;
  const width = left * 2 + bins.length * barW;
  const height = plotH + 40;
  const px = Buffer.alloc(width * height * 3, 255);
  const rect = (x: number, y: number, w: number, h: number, rgb: [number, number, number]) => {
    for (let j = Math.max(0, y); j < Math.min(height, y + h); j++)
      for (let i = Math.max(0, x); i < Math.min(width, x + w); i++) px.set(rgb, (j * width + i) * 3);
  };
  const text = (s: string, x: number, y: number) => {
    [...s].forEach((ch, k) => {
      const g = DIGITS[Number(ch)];
      if (!g) return;
      for (let r = 0; r < 5; r++)
        for (let c = 0; c < 3; c++) if (g[r * 3 + c] === "1") rect(x + (k * 4 + c) * scale, y + r * scale, scale, scale, [40, 40, 40]);
    });
  };
  const most = Math.max(1, ...bins.map((b) => b.count));
  const base = 20 + plotH;
  bins.forEach((b, i) => {
    const h = Math.round((b.count / most) * (plotH - 14));
    const color: [number, number, number] = b.to > maxClipSeconds ? [192, 57, 43] : b.from < 2 || b.to > 11 ? [230, 126, 34] : [46, 134, 193];
    rect(left + i * barW + 2, base - h, barW - 4, h, color);
    if (b.count) text(String(b.count), left + i * barW + 4, base - h - 12);
    text(String(b.from), left + i * barW + 4, base + 6);
  });
  rect(left, base, bins.length * barW, 1, [0, 0, 0]);
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) px.copy(raw, y * (width * 3 + 1) + 1, y * width * 3, (y + 1) * width * 3);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
