/**
 * A complete Chorus engine to copy: it "speaks" one chime per word, so that it needs no model
 * and shows every part of the contract in a few lines: voices, speed, pitch, an engine option,
 * streaming (one chunk per word), cancellation and typed errors. Replace `chime` with your
 * model's inference and keep the rest.
 *
 * It imports only `chorus/sdk`; the host runs it in its own worker thread (see plugin.json).
 */
import {
  definePlugin,
  throwIfAborted,
  VoiceNotFoundError,
  type AudioChunk,
  type Engine,
  type LoadContext,
  type SynthesisRequest,
  type Voice,
} from "chorus/sdk";

const SAMPLE_RATE = 16000;
const WORD_SECONDS = 0.2;
const GAP_SECONDS = 0.06;

const VOICES: (Voice & { hz: number })[] = [
  { id: "low", name: "Low chime", languages: ["en"], gender: "neutral", hz: 220 },
  { id: "high", name: "High chime", languages: ["en"], gender: "neutral", hz: 440 },
];

/** One word's audio: a decaying tone of the voice's pitch, then a short silence. */
export function chime(hz: number, seconds: number, volume: number): Int16Array {
  const tone = Math.round(SAMPLE_RATE * seconds);
  const out = new Int16Array(tone + Math.round(SAMPLE_RATE * GAP_SECONDS));
  for (let i = 0; i < tone; i++) {
    const envelope = Math.min(1, i / 80) * (1 - i / tone);
    out[i] = Math.round(32767 * volume * envelope * Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE));
  }
  return out;
}

class ChimeEngine implements Engine {
  private ctx?: LoadContext;

  async load(ctx: LoadContext): Promise<void> {
    // Load models here, on `ctx.device` (`cuda:<index>` as the scheduler booked it; the CPU
    // code when `ctx.device.simulated`). On a GPU out-of-memory error, throw
    // `new OutOfMemoryError(message, { neededMb })` from chorus/sdk: the scheduler then tries
    // the next profile or fallback.
    this.ctx = ctx;
    ctx.log.info("chime engine loaded", { profile: ctx.profile.name, device: `${ctx.device.kind}:${ctx.device.index}` });
  }

  async unload(): Promise<void> {
    this.ctx = undefined;
  }

  async listVoices(): Promise<Voice[]> {
    return VOICES.map(({ hz: _hz, ...voice }) => voice);
  }

  async *synthesize(request: SynthesisRequest, signal: AbortSignal): AsyncIterable<AudioChunk> {
    if (!this.ctx) throw new Error("synthesize before load");
    const voice = VOICES.find((v) => v.id === request.voice);
    if (!voice) throw new VoiceNotFoundError(request.voice);
    const volume = typeof request.options.volume === "number" ? request.options.volume : 0.5;
    const words = request.text.split(/\s+/).filter((w) => /\w/.test(w));
    for (const word of words) {
      throwIfAborted(signal); // stop promptly when the client goes away
      const seconds = (WORD_SECONDS * Math.min(3, Math.max(1, word.length / 4))) / request.speed;
      yield { sampleRate: SAMPLE_RATE, samples: chime(voice.hz * request.pitch, seconds, volume) };
      await new Promise((r) => setImmediate(r)); // let an abort message in between words
    }
  }

  async health() {
    return { ok: this.ctx !== undefined, detail: this.ctx ? "loaded" : "not loaded" };
  }
}

export default definePlugin({
  create: () => new ChimeEngine(),
});
