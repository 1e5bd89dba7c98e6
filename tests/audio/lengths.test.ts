/**
 * Lengths in headers: a streamed WAV says "unknown" sizes (documented; `chorus wav-fix`
 * writes the real ones), a file that is not streamed carries its total length (WAV sizes,
 * FLAC STREAMINFO total samples and MD5).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixFlacStreamInfo } from "../../core/audio/lengths.ts";
import { buildApp } from "../../core/server/app.ts";
import type { Host } from "../../core/host.ts";
import { decodeWav } from "../helpers/audio.ts";
import { testHost } from "../helpers/host.ts";
import { runChorusAsync } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";
import { decodeAudio } from "../compat/decode.ts";

let host: Host;
let app: FastifyInstance;
beforeAll(async () => {
  host = testHost({ dataDir: "var/test-lengths" });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

const TEXT = "Streaming, sentence by sentence. Here is the second one.";
const speech = (payload: Record<string, unknown>) =>
  app.inject({ method: "POST", url: "/api/speech", payload: { text: TEXT, engine: "flite", voice: "slt", ...payload } });
const streamInfo = (flac: Buffer) => ({
  totalSamples: (flac[8 + 13]! & 0x0f) * 2 ** 32 + flac.readUInt32BE(8 + 14),
  md5: flac.subarray(8 + 18, 8 + 34).toString("hex"),
  rate: flac.readUIntBE(8 + 10, 3) >> 4,
});

describe("lengths in headers", () => {
  it("a streamed WAV says unknown sizes; chorus wav-fix writes the real ones", async () => {
    const streamed = await speech({ stream: true });
    const raw = streamed.rawPayload;
    expect(raw.readUInt32LE(4)).toBe(0xffffffff);
    expect(raw.readUInt32LE(40)).toBe(0xffffffff);
    const file = path.join(tempDir("wav-fix"), "stream.wav");
    fs.writeFileSync(file, raw);
    const res = await runChorusAsync(["wav-fix", file]);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/stream\.wav: \d+\.\d\d s/);
    const fixed = decodeWav(fs.readFileSync(file));
    expect(fixed.dataSize).toBe(raw.length - 44);
    expect(fixed.riffSize).toBe(raw.length - 8);
    const whole = decodeWav((await speech({})).rawPayload);
    expect(fixed.dataSize).toBe(whole.dataSize); // the same audio as the file sent whole
  });

  it("wav-fix refuses what is not a Chorus WAV", async () => {
    const file = path.join(tempDir("wav-fix"), "not.wav");
    fs.writeFileSync(file, "hello, not audio at all; long enough to have forty-four bytes of it");
    const res = await runChorusAsync(["wav-fix", file]);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("not a WAV with a 44-byte header");
  });

  it("a FLAC that is not streamed carries its total samples and MD5; a streamed one cannot", async () => {
    const wav = decodeWav((await speech({})).rawPayload);
    const flac = (await speech({ format: "flac" })).rawPayload;
    expect(flac.toString("ascii", 0, 4)).toBe("fLaC");
    const info = streamInfo(flac);
    expect(info.rate).toBe(wav.sampleRate);
    expect(info.totalSamples).toBe(wav.samples.length);
    expect(info.md5).toBe(createHash("md5").update(Buffer.from(wav.samples.buffer)).digest("hex"));
    const decoded = await decodeAudio(flac, wav.sampleRate);
    expect(decoded.durationSeconds).toBeCloseTo(wav.durationSeconds, 1);
    const streamed = streamInfo((await speech({ format: "flac", stream: true })).rawPayload);
    expect(streamed.totalSamples).toBe(0);
  });

  it("packs totals beyond 32 bits into STREAMINFO's 36-bit field", () => {
    const head = Buffer.alloc(42);
    head.write("fLaC", 0, "ascii");
    head.writeUIntBE(34, 5, 3);
    head[8 + 13] = 0xa0; // bits-per-sample's low bits live in the high nibble: kept
    fixFlacStreamInfo(head, 2 ** 33 + 5);
    expect(streamInfo(head).totalSamples).toBe(2 ** 33 + 5);
    expect(head[8 + 13]! & 0xf0).toBe(0xa0);
    expect(() => fixFlacStreamInfo(Buffer.from("RIFF....WAVEfmt ............................"), 1)).toThrow(/not a FLAC/);
  });
});
