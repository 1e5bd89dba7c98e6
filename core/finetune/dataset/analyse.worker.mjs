// Audio statistics for the dataset check, computed off the event loop (a worker thread).
// Input: { id, samples: Int16Array (mono), sampleRate }. Output: { id, stats } (see audio.ts AudioStats).
import { parentPort } from "node:worker_threads";
import { createHash } from "node:crypto";

const FRAME_SECONDS = 0.02;

function analyse(samples, sampleRate) {
  const n = samples.length;
  let sum = 0;
  let sumSq = 0;
  let peak = 0;
  let clipped = 0;
  for (let i = 0; i < n; i++) {
    const s = samples[i];
    sum += s;
    sumSq += s * s;
    const a = s < 0 ? -s : s;
    if (a > peak) peak = a;
    if (a >= 32700) clipped++;
  }
  const frame = Math.max(1, Math.round(sampleRate * FRAME_SECONDS));
  const frames = [];
  for (let i = 0; i + frame <= n; i += frame) {
    let e = 0;
    for (let j = i; j < i + frame; j++) e += samples[j] * samples[j];
    frames.push(Math.sqrt(e / frame) / 32768);
  }
  // A frame is speech when louder than -50 dBFS and within 40 dB of the loudest frame.
  const loudest = frames.reduce((m, v) => Math.max(v, m), 0);
  const threshold = Math.max(10 ** (-50 / 20), loudest * 10 ** (-40 / 20));
  const active = frames.map((v) => v >= threshold);
  const first = active.indexOf(true);
  const last = active.lastIndexOf(true);
  let longestPause = 0;
  let run = 0;
  const pauses = [];
  for (let i = Math.max(0, first); i <= last; i++) {
    if (!active[i]) run++;
    else {
      if (run * FRAME_SECONDS >= 0.15) pauses.push({ start: (i - run) * FRAME_SECONDS, end: i * FRAME_SECONDS });
      longestPause = Math.max(longestPause, run);
      run = 0;
    }
  }
  const speechFrames = active.filter(Boolean).length;
  return {
    seconds: n / sampleRate,
    rmsDb: n ? 20 * Math.log10(Math.max(1e-9, Math.sqrt(sumSq / n) / 32768)) : -Infinity,
    peakDb: 20 * Math.log10(Math.max(1e-9, peak / 32768)),
    dcOffset: n ? sum / n / 32768 : 0,
    clippedFraction: n ? clipped / n : 0,
    speechSeconds: speechFrames * FRAME_SECONDS,
    leadingSilence: first < 0 ? n / sampleRate : first * FRAME_SECONDS,
    trailingSilence: last < 0 ? n / sampleRate : (frames.length - 1 - last) * FRAME_SECONDS + (n - frames.length * frame) / sampleRate,
    longestPause: longestPause * FRAME_SECONDS,
    pauses,
    hash: createHash("sha1")
      .update(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength))
      .digest("hex"),
  };
}

parentPort.on("message", ({ id, samples, sampleRate }) => {
  try {
    parentPort.postMessage({ id, stats: analyse(samples, sampleRate) });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err?.message ? err.message : err) });
  }
});
