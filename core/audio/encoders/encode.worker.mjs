// One encoder thread of the pool (pool.ts). It encodes many streams at once, each named by an
// id: mp3 through LAME compiled to WebAssembly (`wasm-media-encoders`), opus through libopus
// (`@evan/opus`) in an Ogg container written by ogg.mjs. Plain JavaScript so that it loads
// without the TypeScript loader. Messages in: {op:"open"|"data"|"end"|"close", id, ...} or
// {op:"warm"} (no answer);
// out: {id, bytes?, done?, prepared?, error?} — one answer for every open/data/end.
import { parentPort, threadId } from "node:worker_threads";
import { createMp3Encoder } from "wasm-media-encoders";
import { Encoder as OpusEncoder } from "@evan/opus";
import { OggOpusWriter } from "./ogg.mjs";

const MP3_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
const MP3_BITRATES = [8, 16, 24, 32, 40, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const OPUS_RATES = [8000, 12000, 16000, 24000, 48000];

/** LAME instances are reusable after finalize(): kept here so a new stream costs no compile. */
const idleMp3 = [];
/**
 * Configured LAME instances no stream has used yet, by rate and bit rate: configuring one
 * (lame_init_params) takes 1.5-6 ms, which came before a stream's first bytes. One is
 * prepared for each setting after a stream with it ends, so the next stream starts at once.
 */
const readyMp3 = new Map();
/** Settings kept prepared at most (each instance is a WebAssembly memory of its own). */
const MAX_READY = 4;
const streams = new Map();

/** Streaming linear interpolation that carries its position across chunks (no seams). */
class Resampler {
  constructor(from, to) {
    this.step = from / to;
    this.pos = 0; // input position (global sample index, fractional) of the next output sample
    this.base = 0; // global index of the current chunk's first sample
    this.prev = 0; // the sample just before the current chunk
  }
  push(input) {
    if (this.step === 1) return input;
    const { base } = this;
    const last = base + input.length - 1;
    const at = (i) => (i < base ? this.prev : input[i - base]);
    const out = new Int16Array(Math.max(0, Math.ceil((last - this.pos) / this.step) + 1));
    let n = 0;
    while (Math.floor(this.pos) + 1 <= last && n < out.length) {
      const left = Math.floor(this.pos);
      const frac = this.pos - left;
      out[n++] = Math.round(at(left) * (1 - frac) + at(left + 1) * frac);
      this.pos += this.step;
    }
    if (input.length) this.prev = input[input.length - 1];
    this.base += input.length;
    return out.subarray(0, n);
  }
}

const mp3Settings = (rate, kbps) => {
  const outputSampleRate = MP3_RATES.includes(rate) ? rate : 22050;
  const bitrate = MP3_BITRATES.reduce((best, b) => (Math.abs(b - kbps) < Math.abs(best - kbps) ? b : best), 64);
  return { sampleRate: rate, channels: 1, bitrate, outputSampleRate };
};
const mp3Key = (rate, kbps) => `${rate}|${kbps}`;

async function configuredMp3(rate, kbps) {
  const encoder = idleMp3.pop() ?? (await createMp3Encoder());
  encoder.configure(mp3Settings(rate, kbps));
  return encoder;
}

/** Prepares one configured encoder for (rate, kbps) unless one is ready. */
async function prepareMp3(rate, kbps) {
  const key = mp3Key(rate, kbps);
  if (readyMp3.has(key)) return;
  if (readyMp3.size >= MAX_READY) {
    const [oldest, encoder] = readyMp3.entries().next().value;
    readyMp3.delete(oldest);
    if (encoder) idleMp3.push(encoder);
  }
  readyMp3.set(key, undefined); // reserved: no second preparation meanwhile
  try {
    readyMp3.set(key, await configuredMp3(rate, kbps));
  } catch {
    readyMp3.delete(key);
  }
}

async function openMp3(rate, kbps) {
  const key = mp3Key(rate, kbps);
  const ready = readyMp3.get(key);
  if (ready) readyMp3.delete(key);
  const encoder = ready ?? (await configuredMp3(rate, kbps));
  const prepared = ready !== undefined;
  const toFloat = (pcm) => {
    const f = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] / 32768;
    return f;
  };
  return {
    prepared,
    data: (pcm) => (pcm.length ? encoder.encode([toFloat(pcm)]).slice() : new Uint8Array(0)),
    end: () => encoder.finalize().slice(),
    release: () => {
      idleMp3.push(encoder);
      // After the answers already posted: the next message waits for it only if it is queued.
      setImmediate(() => void prepareMp3(rate, kbps));
    },
  };
}

function openOpus(rate, kbps) {
  const opusRate = OPUS_RATES.find((r) => r >= rate) ?? 48000;
  const encoder = new OpusEncoder({ channels: 1, sample_rate: opusRate, application: "audio" });
  encoder.bitrate = kbps * 1000;
  // Complexity 3 of 10: about 3x faster than the default 10 (measured 9.5 vs 33 ms per 5 s of
  // 24 kHz speech in WebAssembly); at speech bit rates the difference is hard to hear.
  encoder.complexity = 3;
  const resampler = new Resampler(rate, opusRate);
  const frame = (opusRate / 1000) * 20; // 20 ms frames
  const writer = new OggOpusWriter({ inputRate: rate, preSkip: Math.round((encoder.ctl(4027) * 48000) / opusRate), serial: (Math.random() * 0x7fffffff) | 0 });
  let pending = new Int16Array(0);
  let samples48 = 0;
  const scale = 48000 / opusRate;
  const encodeFrames = (final) => {
    const packets = [];
    let offset = 0;
    while (pending.length - offset >= frame || (final && offset < pending.length)) {
      let chunk = pending.subarray(offset, offset + frame);
      const real = chunk.length;
      if (real < frame) {
        const padded = new Int16Array(frame);
        padded.set(chunk);
        chunk = padded;
      }
      samples48 += real * scale;
      packets.push(encoder.encode(chunk).slice());
      offset += real;
    }
    pending = pending.slice(offset);
    return packets;
  };
  return {
    head: () => writer.head(),
    data: (pcm) => {
      const resampled = resampler.push(pcm);
      const joined = new Int16Array(pending.length + resampled.length);
      joined.set(pending);
      joined.set(resampled, pending.length);
      pending = joined;
      return writer.pages(encodeFrames(false), samples48, false);
    },
    end: () => writer.pages(encodeFrames(true), samples48, true),
    release: () => undefined,
  };
}

function reply(id, bytes, extra = {}) {
  const out = bytes ?? new Uint8Array(0);
  parentPort.postMessage({ id, bytes: out, threadId, ...extra }, out.byteLength ? [out.buffer] : []);
}

const message = (err) => (err instanceof Error ? err.message : String(err));

// A stream is registered at "open" as the promise of its encoder, so messages that follow at
// once (pool.ts posts the first data without waiting) queue on it in order.
parentPort.on("message", (m) => {
  if (m.op === "warm") {
    // At server start: the first stream of each format then finds its code compiled and a
    // LAME instance waiting (cold, the first mp3 took ~300 ms, the first opus ~180 ms).
    void createMp3Encoder().then(
      (encoder) => idleMp3.push(encoder),
      () => undefined,
    );
    try {
      new OpusEncoder({ channels: 1, sample_rate: 24000, application: "audio" });
    } catch {
      /* reported by the first opus stream */
    }
    return;
  }
  if (m.op === "open") {
    const opening = (async () => (m.format === "mp3" ? await openMp3(m.rate, m.kbps ?? 64) : openOpus(m.rate, m.kbps ?? 32)))();
    const entry = opening.then(
      (s) => {
        reply(m.id, s.head ? s.head() : undefined, { prepared: s.prepared === true });
        return s;
      },
      (err) => {
        reply(m.id, undefined, { error: message(err) });
        return undefined;
      },
    );
    streams.set(m.id, entry);
    return;
  }
  const entry = streams.get(m.id);
  if (m.op === "end" || m.op === "close") streams.delete(m.id);
  if (!entry) {
    if (m.op !== "close") reply(m.id, undefined, { error: "unknown encoder stream" });
    return;
  }
  void entry.then((s) => {
    if (!s || s.failed) {
      if (m.op !== "close") reply(m.id, undefined, { error: "the encoder stream failed" });
      return;
    }
    try {
      if (m.op === "data") reply(m.id, s.data(m.pcm));
      else if (m.op === "end") {
        const bytes = s.end();
        s.release();
        reply(m.id, bytes, { done: true });
      } else if (m.op === "close") {
        // An abandoned LAME instance holds buffered frames: finalize so it can serve again.
        s.end();
        s.release();
      }
    } catch (err) {
      s.failed = true;
      if (m.op !== "close") reply(m.id, undefined, { error: message(err) });
    }
  });
});
