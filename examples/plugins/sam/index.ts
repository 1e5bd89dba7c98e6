/**
 * SAM, the Software Automatic Mouth (1982), as a Chorus engine: a third-party-style plugin
 * written only against the public SDK (`chorus/sdk`). It speaks English offline through the
 * pure-JavaScript `sam-js` package, at 22050 Hz, in its own worker thread.
 *
 * SAM reads at most about 250 characters at a time, so each sentence is cut into pieces at
 * commas and spaces; each piece is yielded as soon as it is made (streaming) and an aborted
 * request stops between pieces.
 */
import SamJs from "sam-js";
import {
  EngineError,
  VoiceNotFoundError,
  definePlugin,
  floatToInt16,
  throwIfAborted,
  type AudioChunk,
  type Engine,
  type SynthesisRequest,
  type Voice,
} from "chorus/sdk";

const SAMPLE_RATE = 22050;
const MAX_PIECE = 200;

/** The classic presets from SAM's manual: speed and pitch (lower = faster / higher), mouth, throat. */
const PRESETS: Record<string, { name: string; speed: number; pitch: number; mouth: number; throat: number; gender: Voice["gender"] }> = {
  sam: { name: "SAM", speed: 72, pitch: 64, mouth: 128, throat: 128, gender: "male" },
  elf: { name: "Elf", speed: 72, pitch: 64, mouth: 160, throat: 110, gender: "neutral" },
  "little-robot": { name: "Little Robot", speed: 92, pitch: 60, mouth: 190, throat: 190, gender: "neutral" },
  "stuffy-guy": { name: "Stuffy Guy", speed: 82, pitch: 72, mouth: 105, throat: 110, gender: "male" },
  "little-old-lady": { name: "Little Old Lady", speed: 82, pitch: 32, mouth: 145, throat: 145, gender: "female" },
  "extra-terrestrial": { name: "Extra-Terrestrial", speed: 100, pitch: 64, mouth: 200, throat: 150, gender: "neutral" },
};

const clampByte = (n: number) => Math.max(1, Math.min(255, Math.round(n)));

/** SAM knows ASCII only: transliterate what we can, drop the rest. */
export function samText(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2013\u2014]/g, ", ")
    .replace(/[^\x20-\x7e]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** Cuts text into pieces SAM accepts: at commas and other pauses, then at spaces. */
export function pieces(text: string, max = MAX_PIECE): string[] {
  const out: string[] = [];
  for (const clause of text.split(/(?<=[,;:])\s+/)) {
    let rest = clause;
    while (rest.length > max) {
      const cut = rest.lastIndexOf(" ", max);
      const at = cut > 0 ? cut : max;
      out.push(rest.slice(0, at));
      rest = rest.slice(at).trim();
    }
    if (/[a-z0-9]/i.test(rest)) out.push(rest);
  }
  return out;
}

class SamEngine implements Engine {
  private loaded = false;

  async load(): Promise<void> {
    // Nothing to load from disk: SAM is a few kilobytes of tables. Prove it works now, so a
    // broken install fails at load (and the host keeps the previous good version).
    const probe = new SamJs().buf32("test");
    if (!(probe instanceof Float32Array) || probe.length === 0) throw new EngineError("ENGINE_FAILED", "sam-js produced no audio");
    this.loaded = true;
  }

  async unload(): Promise<void> {
    this.loaded = false;
  }

  async listVoices(): Promise<Voice[]> {
    return Object.entries(PRESETS).map(([id, p]) => ({
      id,
      name: p.name,
      languages: ["en"],
      gender: p.gender,
      description: `speed ${p.speed}, pitch ${p.pitch}, mouth ${p.mouth}, throat ${p.throat}`,
    }));
  }

  async *synthesize(request: SynthesisRequest, signal: AbortSignal): AsyncIterable<AudioChunk> {
    if (!this.loaded) throw new EngineError("ENGINE_FAILED", "synthesize before load");
    const preset = PRESETS[request.voice];
    if (!preset) throw new VoiceNotFoundError(request.voice);
    const o = request.options;
    const phonetic = o.phonetic === true;
    const sam = new SamJs({
      speed: clampByte(preset.speed / request.speed),
      pitch: clampByte(preset.pitch / request.pitch),
      mouth: typeof o.mouth === "number" ? o.mouth : preset.mouth,
      throat: typeof o.throat === "number" ? o.throat : preset.throat,
      singmode: o.sing === true,
      phonetic,
    });
    const text = phonetic ? request.text.trim() : samText(request.text);
    for (const piece of phonetic ? [text] : pieces(text)) {
      throwIfAborted(signal);
      const audio = sam.buf32(piece, phonetic);
      if (!(audio instanceof Float32Array)) {
        throw new EngineError(
          phonetic ? "ENGINE_BAD_OPTION" : "ENGINE_FAILED",
          `${phonetic ? "options.phonetic: " : ""}SAM could not speak "${piece.slice(0, 40)}"`,
        );
      }
      yield { sampleRate: SAMPLE_RATE, samples: floatToInt16(audio) };
      await new Promise((r) => setImmediate(r)); // lets an abort arrive between pieces
    }
  }
}

export default definePlugin({ create: () => new SamEngine() });
