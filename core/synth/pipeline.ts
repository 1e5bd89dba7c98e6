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
import type { SpeechRequest } from "../request/speech-request.ts";
import { EngineError, SynthesisAbortedError, type AudioChunk, type PlacementProfile, type Voice } from "../../packages/sdk/src/index.ts";
import { splitSentences } from "../text/sentences.ts";
import { speechTurns } from "../text/first-chunk.ts";
import { fallbackOptions, validateOptions } from "./options.ts";
import { prosodyFor } from "./prosody.ts";
import { readAhead } from "./read-ahead.ts";
import { MAX_RESUMES, Skipper, resumeAfterLoss } from "./resume.ts";
import { canReplace, replaceAfterOom } from "./oom.ts";
import { checkedChunk, fromEngineError, withFirst } from "./chunks.ts";
import { isWorkerLost } from "../registry/pending-calls.ts";
import { LeaseHold, type LeaseSource } from "./lease-hold.ts";
import type { LeasedEngine } from "../scheduler/lease.ts";
import { EngineVoices } from "./voices.ts";
import { fittedToNewEngine, type Replacing, type Serving, type SynthParams } from "./serving.ts";

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
  fallbackReason?: string;
  /** Request fields the engine does not support, so it never got them (prosody.ts). */
  ignored?: ("speed" | "pitch")[];
  /** Request fields clamped to the engine's range, with the value used. */
  clamped?: Partial<Record<"speed" | "pitch", number>>;
  /** The engine's chunks, in order, each at its own rate. Ends the lease when exhausted, failed or returned early. */
  chunks: AsyncGenerator<AudioChunk>;
}

export class SpeechPipeline {
  private readonly voiceLookup = new EngineVoices();
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
      return await this.voiceLookup.list(lease.engine, true);
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
      const options = lease.engineId === requested ? validateOptions(manifest, job.options) : fallbackOptions(manifest, job.options, this.log);
      const voice = await this.voiceLookup.resolve(lease, job.voice, lease.engineId !== requested);
      // Sentences (or the whole text, for an engine that splits it), the first one's opening as
      // a short first part, so that the first audio comes soon (core/text/first-chunk.ts).
      const turns = speechTurns(manifest.capabilities.sentenceSplitting === "engine" ? [text] : splitSentences(text), this.config.text.firstChunkWords);
      const current: Serving = { lease, voice, requested: { speed: job.speed, pitch: job.pitch, options: job.options ?? {} } };
      // The synthesis stops when the caller's signal fires or the caller closes the chunks.
      const stop = new AbortController();
      // Speed and pitch as this engine can take them (ignored or clamped: prosody.ts).
      const prosody = prosodyFor(manifest, job);
      const source = this.run(
        current,
        turns,
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
   * Runs the turns (each one or more texts spoken in one engine call) under `current.lease`. When the engine runs out of memory, the request
   * is re-placed down the chain and the sentence retried (oom.ts; `current` then names the
   * engine that serves it). When the engine's worker dies, the undelivered audio is
   * synthesised again (resume.ts), at most MAX_RESUMES times.
   */
  private async *run(
    current: Serving,
    turns: string[][],
    params: SynthParams,
    signal: AbortSignal,
    fallback: boolean | undefined,
    leases: LeaseSource,
  ): AsyncGenerator<AudioChunk> {
    const ooms: string[] = [];
    let resumes = 0;
    const replacing: Replacing = {
      signal,
      fallback,
      leases,
      voices: this.voiceLookup,
      scheduler: this.scheduler,
      // the client's own options (not the first engine's defaults) are what move with the request
      carriedOptions: (manifest) => fallbackOptions(manifest, current.requested.options, this.log),
    };
    try {
      for (const [index, texts] of turns.entries()) {
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
            for await (const raw of speak(lease.engine, texts, params, signal)) {
              const chunk = skip.apply(checkedChunk(raw, lease.engineId));
              if (!chunk) continue;
              delivered += chunk.samples.length / chunk.sampleRate;
              yield chunk;
            }
            break;
          } catch (err) {
            if (isWorkerLost(err) && !signal.aborted && resumes < MAX_RESUMES) {
              resumes++;
              const at = { index, total: turns.length, delivered, attempt: resumes };
              const sameVoice = await resumeAfterLoss(current, err as Error, at, params, replacing);
              if (!sameVoice) params = fittedToNewEngine(current, params, replacing);
              // Another voice starts the turn afresh: what it has delivered counts from there.
              if (!sameVoice) delivered = 0;
              skip = new Skipper(delivered);
              continue;
            }
            // A voice removed since it was listed: the next request asks the engine afresh.
            if (err instanceof EngineError && err.code === "ENGINE_VOICE_NOT_FOUND") this.voiceLookup.forget(lease.engine);
            if (!canReplace(err, lease, ooms)) throw fromEngineError(err, lease.engineId, params.voice);
            params = await replaceAfterOom(current, err, ooms, params, replacing);
            // The same engine (another profile) makes the same audio: what was heard is not said
            // twice. Another engine starts the turn afresh (its first chunk included: another voice).
            if (current.lease.engineId !== lease.engineId) delivered = 0;
            skip = new Skipper(delivered);
          }
        }
      }
    } finally {
      current.lease.release();
    }
  }
}

/** A turn's texts, one after the other, in one engine call (LeasedEngine.synthesizeMore). */
function speak(engine: LeasedEngine, texts: string[], params: SynthParams, signal: AbortSignal): AsyncIterable<AudioChunk> {
  const [text, ...more] = texts as [string, ...string[]];
  return more.length ? engine.synthesizeMore({ text, ...params }, more, signal) : engine.synthesize({ text, ...params }, signal);
}
