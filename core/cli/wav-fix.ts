/**
 * `chorus wav-fix FILE...`: writes the real sizes into WAVs saved from a stream (`"stream":
 * true`, AllTalk's streaming route), whose header says "unknown" (0xFFFFFFFF) because it left
 * before the audio existed. Rewrites 8 bytes in place.
 */
import fs from "node:fs";
import { fixWavSizes } from "../audio/lengths.ts";
import { UsageError } from "./usage.ts";

export function wavFixCommand(files: string[]): number {
  if (!files.length) throw new UsageError("wav-fix needs the WAV files to fix", "wav-fix");
  let failed = 0;
  for (const file of files) {
    try {
      const fd = fs.openSync(file, "r+");
      try {
        const size = fs.fstatSync(fd).size;
        const header = Buffer.alloc(44);
        fs.readSync(fd, header, 0, 44, 0);
        const fixed = fixWavSizes(header, size);
        fs.writeSync(fd, fixed, 0, 44, 0);
        process.stdout.write(`${file}: ${((size - 44) / fixed.readUInt32LE(28)).toFixed(2)} s\n`);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      failed++;
      process.stderr.write(`chorus: ${file}: ${(err as Error).message}\n`);
    }
  }
  return failed ? 1 : 0;
}
