/**
 * Piper: VITS voices (NAME.onnx + NAME.onnx.json) run on onnxruntime-node exactly as Piper
 * runs them. The engine splits the text itself (piper-phonemize's sentences, see
 * phonemizer.ts), runs one inference per sentence and streams each sentence's audio as soon as
 * it is made, peak-normalised to 16-bit, with configurable silence between sentences.
 * Voices come from the configured directories and are re-scanned when files change; models
 * are opened on first use and kept open (least recently used closed beyond maxLoadedVoices).
 * Models are reference-counted: one evicted or outdated while requests still run on it leaves
 * the map at once but is released only when its last request finishes.
 */
import fs from "node:fs";
import {
  BadOptionError,
  EngineError,
  VoiceNotFoundError,
  definePlugin,
  throwIfAborted,
  type AudioChunk,
  type Engine,
  type EngineHealth,
  type EngineLogger,
  type LoadContext,
  type SynthesisRequest,
  type Voice,
} from "chorus/sdk";
import { OnnxVoice, peakNormalize, type SessionSettings } from "./onnx-voice.ts";
import { describeMissing, phonemizeForVoice } from "./phoneme-ids.ts";
import { EspeakPhonemizer, PhonemizeError } from "./phonemizer.ts";
import { requestParams } from "./request-params.ts";
import { parseSettings, type PiperSettings } from "./settings.ts";
import { VoiceCatalog, type CatalogVoice } from "./voice-catalog.ts";

interface OpenVoice {
  version: string;
  model: Promise<OnnxVoice>;
  /** Requests running on this model now. */
  users: number;
  /** Out of `open` (evicted or outdated): released as soon as `users` is 0. */
  retired: boolean;
  released: boolean;
}

export class PiperEngine implements Engine {
  private settings?: PiperSettings;
  private session?: SessionSettings;
  private log?: EngineLogger;
  private catalog?: VoiceCatalog;
  private readonly phonemizer = new EspeakPhonemizer();
  /** Open models by voice id, least recently used first. */
  private readonly open = new Map<string, OpenVoice>();
  /** Retired models that requests still use (released when the last one finishes, or at unload). */
  private readonly draining = new Set<OpenVoice>();

  async load(ctx: LoadContext): Promise<void> {
    this.log = ctx.log;
    this.settings = parseSettings(ctx.settings);
    this.session = {
      threads: this.settings.threads,
      interOpThreads: this.settings.interOpThreads,
      graphOptimization: this.settings.graphOptimization,
      spinWait: this.settings.spinWait,
      cuda: ctx.device.kind === "cuda" && !ctx.device.simulated,
      cudaDeviceId: ctx.device.index, // the GPU the scheduler placed (and booked memory on)
    };
    await this.phonemizer.init();
    // Not an error: the other directories still work, and one created later is found by the
    // next scan. Said once, here, not on every scan.
    for (const dir of this.settings.voiceDirs) {
      const stat = fs.statSync(dir, { throwIfNoEntry: false });
      if (!stat?.isDirectory()) ctx.log.warn(`piper: voice directory ${dir} ${stat ? "is not a directory" : "does not exist"}`, { dir });
    }
    this.catalog = new VoiceCatalog(this.settings.voiceDirs, ctx.log);
    this.catalog.refresh();
    if (this.settings.watch) this.catalog.watch();
    ctx.log.info("piper: loaded", { voiceDirs: this.settings.voiceDirs, voices: this.catalog.list().length, problems: this.catalog.getProblems().length });
  }

  async unload(): Promise<void> {
    this.catalog?.close();
    const entries = [...this.open.values(), ...this.draining];
    this.open.clear();
    this.draining.clear();
    await Promise.allSettled(entries.map((entry) => this.close(entry)));
  }

  async listVoices(): Promise<Voice[]> {
    const catalog = this.requireCatalog();
    catalog.refresh();
    return catalog.list().map(toVoice);
  }

  async health(): Promise<EngineHealth> {
    const catalog = this.requireCatalog();
    catalog.refresh();
    const problems = catalog.getProblems();
    return {
      ok: true,
      detail: `${catalog.list().length} voice(s)${problems.length ? `; ${problems.length} bad voice file(s): ${problems.map((p) => `${p.path} (${p.reason})`).join("; ")}` : ""}`,
    };
  }

  async *synthesize(request: SynthesisRequest, signal: AbortSignal): AsyncGenerator<AudioChunk> {
    throwIfAborted(signal);
    const voice = this.findVoice(request.voice);
    const { config } = voice;
    const params = requestParams(request, config, this.settings!.sentenceSilenceSeconds);
    // The model stays open while this request uses it: the `finally` runs when the stream
    // ends, fails or is stopped early by the consumer.
    const entry = this.acquire(voice);
    try {
      const model = await entry.model;
      if (params.speakerId > 0 && !model.hasSid) {
        throw new BadOptionError("speaker", `voice '${voice.id}' model has no speaker input`);
      }
      const missing = new Map<string, number>();
      let sentences;
      try {
        sentences = (await phonemizeForVoice(this.phonemizer, request.text, config, missing)).filter((s) => s.phonemes.length > 0);
      } catch (err) {
        if (err instanceof PhonemizeError) throw new EngineError("ENGINE_FAILED", err.message, { cause: err });
        throw err;
      }
      if (missing.size) this.log?.warn(`piper: voice '${voice.id}' has no id for phonemes ${describeMissing(missing)}; dropped`);
      const sampleRate = config.audio.sample_rate;
      const silence = Math.round(params.sentenceSilenceSeconds * sampleRate);
      for (let i = 0; i < sentences.length; i++) {
        throwIfAborted(signal);
        const audio = await model.infer(sentences[i]!.phoneme_ids, params.scales, params.speakerId);
        throwIfAborted(signal);
        const pcm = peakNormalize(audio);
        if (i === sentences.length - 1 || silence === 0) {
          yield { sampleRate, samples: pcm };
        } else {
          const withSilence = new Int16Array(pcm.length + silence);
          withSilence.set(pcm);
          yield { sampleRate, samples: withSilence };
        }
      }
    } finally {
      this.releaseUse(entry);
    }
  }

  private requireCatalog(): VoiceCatalog {
    if (!this.catalog) throw new EngineError("ENGINE_FAILED", "piper is not loaded");
    return this.catalog;
  }

  private findVoice(id: string): CatalogVoice {
    const catalog = this.requireCatalog();
    let voice = catalog.get(id);
    // Added, or removed, since the last scan (the watcher reacts after a short debounce).
    if ((!voice || !fs.existsSync(voice.modelPath)) && catalog.refresh()) voice = catalog.get(id);
    if (!voice) throw new VoiceNotFoundError(id);
    return voice;
  }

  /**
   * The voice's open model, with one more user (opened now if needed, reopened when its files
   * changed); the caller must `releaseUse` it. Models beyond maxLoadedVoices, least recently
   * used first, and outdated ones leave the map at once and are closed when no request uses them.
   */
  private acquire(voice: CatalogVoice): OpenVoice {
    let entry = this.open.get(voice.id);
    if (entry && entry.version !== voice.version) {
      this.open.delete(voice.id);
      this.retire(entry);
      entry = undefined;
    }
    if (!entry) {
      const created: OpenVoice = { version: voice.version, model: this.openModel(voice), users: 0, retired: false, released: false };
      // A model that fails to open is not kept: the next request tries again.
      created.model.catch(() => {
        if (this.open.get(voice.id) === created) this.open.delete(voice.id);
      });
      entry = created;
    } else {
      this.open.delete(voice.id); // re-inserted below as the most recently used
    }
    entry.users++;
    this.open.set(voice.id, entry);
    while (this.open.size > this.settings!.maxLoadedVoices) {
      const [oldest, old] = this.open.entries().next().value!;
      this.open.delete(oldest);
      this.retire(old);
    }
    return entry;
  }

  private releaseUse(entry: OpenVoice): void {
    entry.users--;
    if (entry.retired && entry.users === 0) void this.close(entry);
  }

  /** Takes a model out of service: closed now when idle, else by its last user. */
  private retire(entry: OpenVoice): void {
    entry.retired = true;
    if (entry.users === 0) void this.close(entry);
    else this.draining.add(entry);
  }

  /** Releases the onnxruntime session (once; a model that failed to open has none). */
  private async close(entry: OpenVoice): Promise<void> {
    this.draining.delete(entry);
    if (entry.released) return;
    entry.released = true;
    try {
      await (await entry.model).release();
    } catch {
      // failed to open, or already gone: nothing to release
    }
  }

  private async openModel(voice: CatalogVoice): Promise<OnnxVoice> {
    const model = await OnnxVoice.open(voice.modelPath, this.session!, this.log!);
    if (voice.config.num_speakers > 1 && !model.hasSid) {
      this.log?.warn(`piper: voice '${voice.id}' declares ${voice.config.num_speakers} speakers but its model has no 'sid' input`);
    }
    // Warm-up run, so the first request does not pay onnxruntime's first-run cost.
    const ids = voice.config.phoneme_id_map;
    await model.infer([...ids["^"]!, ...ids._!, ...ids.$!], { noiseScale: 0, lengthScale: 1, noiseW: 0 });
    this.log?.info(`piper: opened voice '${voice.id}'`, { provider: model.provider, sid: model.hasSid });
    return model;
  }
}

function toVoice(voice: CatalogVoice): Voice {
  const { config } = voice;
  const languages = [config.espeak.voice.toLowerCase()];
  const code = config.language?.code?.toLowerCase().replace("_", "-");
  if (code && !languages.includes(code)) languages.push(code);
  const speakers = Object.keys(config.speaker_id_map);
  const parts = [`Piper voice, ${config.audio.sample_rate} Hz`];
  if (config.audio.quality) parts.push(`quality ${config.audio.quality}`);
  if (config.num_speakers > 1) {
    parts.push(
      `${config.num_speakers} speakers${speakers.length ? ` (options.speaker: ${speakers.slice(0, 10).join(", ")}${speakers.length > 10 ? ", ..." : ""})` : ""}`,
    );
  }
  return { id: voice.id, name: voice.id, languages, description: parts.join(", "), ...(config.num_speakers > 1 && speakers.length ? { speakers } : {}) };
}

export default definePlugin({ create: () => new PiperEngine() });
