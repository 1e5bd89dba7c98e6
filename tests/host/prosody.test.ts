/**
 * Pitch and speed, defined once (factors, 0.25-4), mapped per engine: eSpeak's pitch follows
 * the factor up to its real range (then is clamped and says so), an engine without pitch
 * support ignores it and says so. Real engines, real audio.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../core/server/app.ts";
import type { Host } from "../../core/host.ts";
import { prosodyFor, prosodyHeaders } from "../../core/synth/prosody.ts";
import { fittedToNewEngine, type Replacing, type Serving } from "../../core/synth/serving.ts";
import { espeakPitch, espeakRate } from "../../engines/espeak/index.ts";
import { decodeWav } from "../helpers/audio.ts";
import { testHost } from "../helpers/host.ts";

let host: Host;
let app: FastifyInstance;
beforeAll(async () => {
  host = testHost({ dataDir: "var/test-prosody" });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

const TEXT = "Hello there, this is a pitch test of the voice.";
const speak = (payload: Record<string, unknown>) => app.inject({ method: "POST", url: "/api/speech", payload: { text: TEXT, ...payload } });

/** Median fundamental frequency over voiced frames (autocorrelation), Hz. */
function medianF0(samples: Int16Array, rate: number): number {
  const frame = 1024;
  const found: number[] = [];
  for (let off = 0; off + frame < samples.length; off += frame) {
    let energy = 0;
    for (let i = 0; i < frame; i++) energy += samples[off + i]! ** 2;
    if (energy / frame < 1e6) continue;
    let best = 0;
    let lag = 0;
    for (let l = Math.floor(rate / 500); l < rate / 40; l++) {
      let c = 0;
      for (let i = 0; i < frame - l; i++) c += samples[off + i]! * samples[off + i + l]!;
      if (c > best) [best, lag] = [c, l];
    }
    if (lag) found.push(rate / lag);
  }
  found.sort((a, b) => a - b);
  return found[Math.floor(found.length / 2)] ?? 0;
}

describe("prosody rules", () => {
  it("ignore what the engine does not declare, clamp to its declared range", () => {
    const none = { capabilities: { speed: true, pitch: false } } as never;
    expect(prosodyFor(none, { speed: 1.5, pitch: 2 })).toEqual({ speed: 1.5, pitch: 1, ignored: ["pitch"], clamped: {} });
    const ranged = { capabilities: { speed: true, pitch: true, pitchRange: [0.5, 2] } } as never;
    expect(prosodyFor(ranged, { pitch: 3 })).toEqual({ speed: 1, pitch: 2, ignored: [], clamped: { pitch: 2 } });
    expect(prosodyFor(ranged, { pitch: 1 })).toEqual({ speed: 1, pitch: 1, ignored: [], clamped: {} });
    expect(prosodyHeaders({ ignored: ["pitch"], clamped: { speed: 2.571428 } })).toEqual({ "X-Chorus-Ignored": "pitch", "X-Chorus-Clamped": "speed=2.571" });
  });

  it("a request moved to another engine (out-of-memory or worker loss) gets what that engine declares, from what the client asked", () => {
    // Both re-placement paths (oom.ts, resume.ts via the pipeline) build the new engine's parameters here.
    const next = { capabilities: { speed: true, pitch: false, speedRange: [0.5, 2] } } as never;
    const serving = { lease: { manifest: next }, voice: "b-voice", requested: { speed: 3, pitch: 1.5, options: { temperature: 0.7 } } } as unknown as Serving;
    const seen: unknown[] = [];
    const ctx = { carriedOptions: (m: unknown) => (seen.push(m), { carried: true }) } as unknown as Replacing;
    // the first engine's values (its clamp of speed, its options with defaults) must not carry over
    const params = { voice: "a-voice", speed: 2.5, pitch: 1.5, options: { temperature: 0.7, engineADefault: 1 } };
    expect(fittedToNewEngine(serving, params, ctx)).toEqual({ voice: "b-voice", speed: 2, pitch: 1, options: { carried: true } });
    expect(seen).toEqual([next]);
  });

  it("map eSpeak's pitch on its octave-per-50 scale and its rate in words per minute", () => {
    expect([0.5, Math.SQRT2, 1, 2, 4].map(espeakPitch)).toEqual([0, 75, 50, 99, 99]);
    expect([0.25, 1, 2, 4].map(espeakRate)).toEqual([80, 175, 350, 450]);
  });
});

describe("pitch on real engines", () => {
  it("eSpeak: a higher factor is a higher voice, up to 2; beyond, clamped and said so", async () => {
    const f0: number[] = [];
    const bodies: Buffer[] = [];
    for (const pitch of [0.5, 1, 1.5, 2]) {
      const res = await speak({ engine: "espeak", pitch });
      expect(res.statusCode).toBe(200);
      expect(res.headers["x-chorus-clamped"]).toBeUndefined();
      const wav = decodeWav(res.rawPayload);
      f0.push(medianF0(wav.samples, wav.sampleRate));
      bodies.push(res.rawPayload);
    }
    for (let i = 1; i < f0.length; i++) expect(f0[i], `F0 at step ${i}: ${f0.join(", ")}`).toBeGreaterThan(f0[i - 1]! * 1.05);
    const three = await speak({ engine: "espeak", pitch: 3 });
    expect(three.headers["x-chorus-clamped"]).toBe("pitch=2");
    expect(three.rawPayload.equals(bodies[3]!)).toBe(true);
  });

  it("Flite declares no pitch: the value is ignored, the audio is the natural one, a header says so", async () => {
    const plain = await speak({ engine: "flite" });
    const pitched = await speak({ engine: "flite", pitch: 2 });
    expect(pitched.statusCode).toBe(200);
    expect(pitched.headers["x-chorus-ignored"]).toBe("pitch");
    expect(plain.headers["x-chorus-ignored"]).toBeUndefined();
    expect(pitched.rawPayload.equals(plain.rawPayload)).toBe(true);
  });

  it("AllTalk semitones are the same factor (12 = 2) and report ignoring too", async () => {
    const espeak = await app.inject({
      method: "POST",
      url: "/api/tts-generate",
      payload: `text_input=${encodeURIComponent(TEXT)}&pitch=24`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(espeak.statusCode).toBe(200);
    expect(espeak.headers["x-chorus-clamped"]).toBe("pitch=2");
    const flite = await app.inject({
      method: "POST",
      url: "/api/tts-generate",
      payload: `text_input=Hello.&pitch=12&character_voice_gen=flite:slt`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(flite.statusCode).toBe(200);
    expect(flite.headers["x-chorus-ignored"]).toBe("pitch");
  });
});
