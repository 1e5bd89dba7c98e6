/**
 * Making a clip: each part of the text (one, or the narrator's and the character's in
 * turn) is spoken over POST /api/speech as raw PCM, streamed when asked (each sentence
 * is handed to `onSamples` as it arrives), and the parts are joined into one WAV. Other
 * formats (MP3, Opus, ...) come whole from the OpenAI-compatible route.
 */
import { api, postJson } from "./api.js";
import { PcmDecoder, resample, wavBytes } from "./pcm.js";

/** A header's value, decoded (the server percent-encodes values that are not plain ASCII, `%` included). */
function header(res, name, missing) {
  const value = res.headers.get(name);
  if (value === null) return missing;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Who served a response, from its X-Chorus-* headers. */
export function servedBy(res) {
  return {
    engine: header(res, "X-Chorus-Engine", "?"),
    profile: header(res, "X-Chorus-Profile", "?"),
    voice: header(res, "X-Chorus-Voice", "?"),
    fallback: header(res, "X-Chorus-Fallback", ""),
    sampleRate: Number(res.headers.get("X-Sample-Rate")) || 0,
  };
}

/**
 * Speaks `parts` ([{text, voice}]) with `settings` ({engine, speed?, pitch?, stream}).
 * `onSamples(Int16Array, rate)` gets audio as it comes. Resolves to
 * `{blob, seconds, served: [...]}`; rejects with ApiError or an AbortError.
 */
export async function speakParts(parts, settings, { signal, onSamples }) {
  const chunks = [];
  const served = [];
  let rate = 0;
  for (const part of parts) {
    const body = { text: part.text, engine: settings.engine, format: "pcm", stream: settings.stream };
    if (part.voice) body.voice = part.voice;
    if (settings.speed !== undefined) body.speed = settings.speed;
    if (settings.pitch !== undefined) body.pitch = settings.pitch;
    const res = await postJson("/api/speech", body, { signal });
    const who = servedBy(res);
    served.push(who);
    rate ||= who.sampleRate;
    const decoder = new PcmDecoder();
    const take = (bytes) => {
      let samples = decoder.push(bytes);
      if (who.sampleRate && who.sampleRate !== rate) samples = resample(samples, who.sampleRate, rate);
      if (!samples.length) return;
      chunks.push(samples);
      onSamples?.(samples, rate);
    };
    if (settings.stream && res.body) {
      const reader = res.body.getReader();
      const before = chunks.reduce((n, c) => n + c.length, 0);
      for (;;) {
        let step;
        try {
          step = await reader.read();
        } catch (err) {
          if (signal?.aborted) throw err;
          // The status went out with the first bytes: the server can only cut the stream (and log why).
          const heard = (chunks.reduce((n, c) => n + c.length, 0) - before) / (rate || 1);
          throw new Error(
            `the audio from ${who.engine} broke off after ${heard.toFixed(1)} s: the engine failed part-way or the connection dropped (the server's log says which; without "Play while it is made" the engine's error is shown here)`,
          );
        }
        if (step.done) break;
        take(step.value);
      }
    } else {
      take(new Uint8Array(await res.arrayBuffer()));
    }
  }
  const samples = chunks.reduce((n, c) => n + c.length, 0);
  return { blob: new Blob([wavBytes(rate || 22050, chunks)], { type: "audio/wav" }), seconds: rate ? samples / rate : 0, served };
}

/** One whole file in `format` from POST /v1/audio/speech (the engine's own voice ids). */
export async function speakFile(text, settings, format, { signal }) {
  // `engine:voice` picks the engine's own voice (an empty voice: the engine's default).
  const body = { model: settings.engine, input: text, response_format: format, voice: `${settings.engine}:${settings.voice ?? ""}` };
  if (settings.speed !== undefined) body.speed = settings.speed;
  const res = await api("/v1/audio/speech", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });
  const blob = await res.blob();
  return { blob, seconds: await mediaSeconds(blob), served: [servedBy(res)] };
}

/** A compressed clip's length, decoded by the browser (its media element only estimates AAC and FLAC streams); 0 when it cannot. */
async function mediaSeconds(blob) {
  try {
    const decoded = await new OfflineAudioContext(1, 1, 48000).decodeAudioData(await blob.arrayBuffer());
    return decoded.duration;
  } catch {
    return 0;
  }
}

/** The served-by summary of a clip's parts: distinct values joined. */
export function summarize(served) {
  const join = (key) => [...new Set(served.map((s) => s[key]).filter(Boolean))].join(" + ");
  return { engine: join("engine"), profile: join("profile"), voice: join("voice"), fallback: join("fallback") };
}
