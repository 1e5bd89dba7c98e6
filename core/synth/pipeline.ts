/**
 * The speech pipeline, the one path every request takes:
 * surface -> one validated SpeechRequest (request/) -> scheduler lease (manifest, device,
 * engine) -> engine (in its worker or process) -> PCM chunks -> the output stage (audio/output).
 * It takes only a validated request and checks nothing of it again; what it knows of the
 * engine comes from the lease, never from the registry.
 */
import type { Logger } from "pino";
import type { Config } from "../config/schema.ts";
import { ChorusError } from "../errors.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { Lease, LeasedEngine } from "../scheduler/lease.ts";
import type { SpeechRequest } from "../request/speech-request.ts";
import {
  EngineError,
  OutOfMemoryError,
  SynthesisAbortedError,
  type AudioChunk,
  type Manifest,
  type PlacementProfile,
  type Voice,
} from "../../packages/sdk/src/index.ts";
import { splitSentences } from "../text/sentences.ts";
import { withShortFirstChunk } from "../text/first-chunk.ts";
import { carriedOptions, validateOptions } from "./options.ts";
import { prosodyFor } from "./prosody.ts";
import { matchVoice } from "../voices/match.ts";
import { readAhead } from "./read-ahead.ts";
import { MAX_RESUMES, Skipper } from "./resume.ts";
import { checkedChunk, fromEngineError, withFirst } from "./chunks.ts";
import { isWorkerLost, lossCause } from "../registry/pending-calls.ts";
import { isMemoryExceeded } from "../registry/memory-error.ts";
import { LeaseHold, type LeaseSource } from "./lease-hold.ts";

export { checkedChunk } from "./chunks.ts";

/** Re-placements after out-of-memory errors in one request (each avoids the profiles that failed). */
export const MAX_OOM_RETRIES = 3;

/** The host's default engine, for a request that names none (registry/selection.ts). */
export interface DefaultEngine {
  current(): string;
}

export interface SpeechStream {
  engineId: string;
  profile: PlacementProfile;
  voice: string;
  /** The first chunk's rate (the output stage resamples later chunks of another rate to it). */
  sampleRate: number;
  sentences: number;
  fallbackReason?: string;
  /** Request fields the engine does not support, so it never got them (prosody.ts). */
  ignored?: ("speed" | "pitch")[];
  /** Request fields clamped to the engine's range, with the value used. */
  clamped?: Partial<Record<"speed" | "pitch", number>>;
  /** The engine's chunks, in order, each at its own rate. Ends the lease when exhausted, failed or returned early. */
  chunks: AsyncGenerator<AudioChunk>;
}

export class SpeechPipeline {
  private readonly voiceCache = new WeakMap<LeasedEngine, Promise<Voice[]>>();
  private readonly log: Logger;

  constructor(
    private readonly config: Config,
    private readonly defaultEngine: DefaultEngine,
    private readonly scheduler: Scheduler,
    log: Logger,
  ) {
    this.log = log.child({ component: "pipeline" });
  }

  /** Voices of an engine, asked afresh (loads it if needed). */
  async voices(engineId: string, signal?: AbortSignal): Promise<Voice[]> {
    const lease = await this.scheduler.acquire({ engineId, signal, fallback: false });
    try {
      return await this.cachedVoices(lease.engine, true);
    } finally {
      lease.release();
    }
  }

  /**
   * A hold for the parts of one multi-part request (a narrated text): pass it to `start` for
   * each part, release it when the request ends (lease-hold.ts).
   */
  holdLease(): LeaseHold {
    return new LeaseHold(this.scheduler);
  }

  /**
   * Starts synthesis and waits for the first chunk, so that every error a client should get
   * as a status code (bad voice, engine failure on the first sentence) is thrown from here.
   * `hold`: the part of a multi-part request, run under the lease its hold keeps.
   */
  async start(job: SpeechRequest, signal: AbortSignal, hold?: LeaseHold): Promise<SpeechStream> {
    const text = job.text;
    const requested = job.engine ?? this.defaultEngine.current();
    const leases: LeaseSource = hold ?? this.scheduler;
    const lease = await leases.acquire({ engineId: requested, signal, fallback: job.fallback, keepAliveSeconds: job.keepAliveSeconds });
    try {
      const manifest = lease.manifest;
      const options = lease.engineId === requested ? validateOptions(manifest, job.options) : this.fallbackOptions(manifest, job.options);
      const voice = await this.resolveVoice(lease, job.voice, lease.engineId !== requested);
      // A short first part, so that the first audio comes soon (core/text/first-chunk.ts).
      const sentences = withShortFirstChunk(
        manifest.capabilities.sentenceSplitting === "engine" ? [text] : splitSentences(text),
        this.config.text.firstChunkWords,
      );
      const current = { lease, voice, requested: { speed: job.speed, pitch: job.pitch } };
      // The synthesis stops when the caller's signal fires or the caller closes the chunks.
      const stop = new AbortController();
      // Speed and pitch as this engine can take them (ignored or clamped: prosody.ts).
      const prosody = prosodyFor(manifest, job);
      const source = this.run(
        current,
        sentences,
        { voice, speed: prosody.speed, pitch: prosody.pitch, options, ...(job.continues ? { continues: true } : {}) },
        AbortSignal.any([signal, stop.signal]),
        job.fallback,
        leases,
      );
      const first = await source.next();
      if (first.done) throw new ChorusError("CHORUS_ERR_ENGINE_FAILED", `engine '${lease.engineId}' produced no audio`);
      return {
        engineId: current.lease.engineId,
        profile: current.lease.profile,
        voice: current.voice,
        sampleRate: first.value.sampleRate,
        sentences: sentences.length,
        fallbackReason: current.lease.fallbackReason,
        ignored: prosody.ignored,
        clamped: prosody.clamped,
        chunks: withFirst(
          first.value,
          readAhead(
            source,
            () => stop.abort(),
            (chunk) => chunk.samples.byteLength,
          ),
        ),
      };
    } catch (err) {
      lease.release();
      throw err;
    }
  }

  /**
   * Runs the sentences under `current.lease`. When the engine runs out of memory, the
   * scheduler is told, the request is re-placed down the chain (avoiding every profile that ran
   * out of memory for it) and the sentence retried, at most MAX_OOM_RETRIES times (`current`
   * then names the engine that serves it). When the engine's worker dies, the
   * undelivered audio is synthesised again (resume.ts), at most MAX_RESUMES times.
   */
  private async *run(
    current: { lease: Lease; voice: string; requested?: { speed?: number; pitch?: number } },
    sentences: string[],
    params: { voice: string; speed: number; pitch: number; options: Record<string, unknown>; continues?: boolean },
    signal: AbortSignal,
    fallback: boolean | undefined,
    leases: LeaseSource,
  ): AsyncGenerator<AudioChunk> {
    const ooms: string[] = [];
    let resumes = 0;
    const requestedOptions = params.options;
    try {
      for (const [index, text] of sentences.entries()) {
        // Fairness: between sentences, a request queued for this engine takes its turn.
        if (index > 0 && this.config.scheduler.sentenceTurns) await current.lease.yieldTurn?.(signal);
        // Stopped between sentences: an error, never a shorter text passed off as the whole.
        if (signal.aborted) throw new SynthesisAbortedError(signal.reason instanceof Error ? signal.reason.message : "synthesis aborted");
        /** Seconds of this sentence already handed on (skipped when it is re-made by the same voice). */
        let delivered = 0;
        let skip = new Skipper(0);
        for (;;) {
          const lease = current.lease;
          try {
            for await (const raw of lease.engine.synthesize({ text, ...params }, signal)) {
              const chunk = skip.apply(checkedChunk(raw, lease.engineId));
              if (!chunk) continue;
              delivered += chunk.samples.length / chunk.sampleRate;
              yield chunk;
            }
            break;
          } catch (err) {
            if (isWorkerLost(err) && !signal.aborted && resumes < MAX_RESUMES) {
              resumes++;
              const sameVoice = await this.resume(
                current,
                err as Error,
                { index, total: sentences.length, delivered, attempt: resumes },
                signal,
                fallback,
                params,
                leases,
              );
              if (!sameVoice) params = { ...params, voice: current.voice, options: this.fallbackOptions(current.lease.manifest, requestedOptions) };
              skip = new Skipper(sameVoice ? delivered : 0);
              continue;
            }
            // A voice removed since it was listed: the next request asks the engine afresh.
            if (err instanceof EngineError && err.code === "ENGINE_VOICE_NOT_FOUND") this.voiceCache.delete(lease.engine);
            if (!(err instanceof OutOfMemoryError) || ooms.length >= MAX_OOM_RETRIES || !lease.reportOutOfMemory)
              throw fromEngineError(err, lease.engineId, params.voice);
            ooms.push(lease.reportOutOfMemory(err.neededMb, isMemoryExceeded(err) ? "ram" : "vram"));
            lease.release();
            const next = await leases
              .acquire({ engineId: lease.requestedEngineId ?? lease.engineId, signal, fallback, avoid: [...ooms] })
              .catch((placement: unknown) => {
                current.lease = { ...lease, release: () => {} }; // already given back
                // nothing else can serve: the client hears about the memory limit, not the placement
                throw isMemoryExceeded(err) && !signal.aborted ? fromEngineError(err, lease.engineId, params.voice) : placement;
              });
            current.lease = next;
            if (next.engineId !== lease.engineId) {
              const options = this.fallbackOptions(next.manifest, requestedOptions);
              // Speed and pitch as the new engine can take them (never a value it did not declare).
              const prosody = prosodyFor(next.manifest, current.requested ?? {});
              params = { ...params, voice: await this.resolveVoice(next, undefined, true), options, speed: prosody.speed, pitch: prosody.pitch };
              current.voice = params.voice;
            }
          }
        }
      }
    } finally {
      current.lease.release();
    }
  }

  /** Options for a fallback engine: the requested ones it declares and accepts, its defaults for the rest. */
  private fallbackOptions(manifest: Manifest, options: Record<string, unknown> | undefined): Record<string, unknown> {
    const carried = carriedOptions(manifest, options);
    if (carried.dropped.length)
      this.log.info(
        { engine: manifest.id, dropped: carried.dropped, reason: "options_dropped" },
        `options not applicable to fallback engine ${manifest.id}: ${carried.dropped.join(", ")}`,
      );
    return carried.options;
  }

  /**
   * After a worker loss: the first time the same instance carries on (its host restarts the
   * worker); later, a new placement that avoids the lost profile. Logs a `fallback` decision.
   * Returns whether the voice (and so the audio already sent) is the same.
   */
  private async resume(
    current: { lease: Lease; voice: string },
    err: Error,
    at: { index: number; total: number; delivered: number; attempt: number },
    signal: AbortSignal,
    fallback: boolean | undefined,
    params: { voice: string },
    leases: LeaseSource,
  ): Promise<boolean> {
    const lease = current.lease;
    const key = `${lease.engineId}:${lease.profile.name}`;
    const where = `sentence ${at.index + 1} of ${at.total}, ${at.delivered.toFixed(2)} s of it delivered`;
    const cause = lossCause(err);
    if (at.attempt === 1) {
      this.scheduler.noteResume?.(lease.engineId, lease.profile.name, `${err.message}; resuming ${where} on the restarted instance`, undefined, cause);
      return true;
    }
    lease.release();
    let next: Lease;
    try {
      next = await leases.acquire({ engineId: lease.requestedEngineId ?? lease.engineId, signal, fallback, avoid: [key] });
    } catch (placement) {
      if (signal.aborted) throw placement;
      current.lease = { ...lease, release: () => {} }; // already given back
      throw new ChorusError(
        "CHORUS_ERR_ENGINE_FAILED",
        `engine '${lease.engineId}' lost its worker at ${where} (${err.message}) and nothing else can serve: ${(placement as Error).message}`,
        { cause: err },
      );
    }
    current.lease = next;
    const same = next.engineId === lease.engineId;
    if (!same) current.voice = await this.resolveVoice(next, params.voice, true);
    this.scheduler.noteResume?.(
      next.engineId,
      next.profile.name,
      `${key}: ${err.message}; resuming ${where} on ${next.engineId}:${next.profile.name}${same ? "" : ` (voice ${current.voice})`}`,
      lease.engineId,
      cause,
    );
    return same && current.voice === params.voice;
  }

  /**
   * An engine instance's voices, asked once and kept; `fresh` asks again (engines such as
   * Piper gain and lose voices while they run).
   */
  private cachedVoices(engine: LeasedEngine, fresh = false): Promise<Voice[]> {
    let voices = fresh ? undefined : this.voiceCache.get(engine);
    if (!voices) {
      voices = engine.listVoices();
      this.voiceCache.set(engine, voices);
      voices.catch(() => this.voiceCache.delete(engine));
    }
    return voices;
  }

  private async resolveVoice(lease: Lease, wanted: string | undefined, isFallback: boolean): Promise<string> {
    const defaultVoice = lease.manifest.defaultVoice;
    let voices = await this.cachedVoices(lease.engine);
    // By id, name or language code (`en` -> the engine's default voice for English): voices/match.ts.
    const byId = (id: string | undefined) => (id === undefined ? undefined : matchVoice(voices, id, defaultVoice));
    // A voice added since the list was kept: ask the engine again before saying it is unknown.
    if (wanted !== undefined && !isFallback && !byId(wanted)) voices = await this.cachedVoices(lease.engine, true);
    const found = byId(wanted);
    if (found) return found.id;
    if (wanted !== undefined && !isFallback) {
      throw new ChorusError(
        "CHORUS_ERR_VOICE_NOT_FOUND",
        `engine '${lease.engineId}' has no voice '${wanted}' (GET /api/voices?engine=${lease.engineId} lists them)`,
        { field: "voice" },
      );
    }
    const fallback = byId(defaultVoice) ?? voices[0];
    if (!fallback)
      throw new ChorusError(
        "CHORUS_ERR_VOICE_NOT_FOUND",
        `engine '${lease.engineId}' has no voices installed (GET /api/voices?engine=${lease.engineId}; see the engine's documentation)`,
        { field: "voice" },
      );
    return fallback.id;
  }
}
