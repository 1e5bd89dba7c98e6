/**
 * A streaming synthesis (`synthesize-start` ... `synthesize-stop`): text arrives in chunks,
 * each sentence is synthesised as soon as the text after it shows that it is complete, as a
 * full `audio-start` / `audio-chunk`... / `audio-stop` group, in order. Every group has the
 * rate of the first (Home Assistant writes one WAV header from the first `audio-start`).
 * After an error the rest of the text is dropped; `synthesize-stop` still gets its answer.
 * Memory stays bounded: text without a sentence end is cut after PENDING_LIMIT characters,
 * and a sentence over text.maxLength is cut at clauses or spaces (a stream has no total limit).
 */
import type { Logger } from "pino";
import type { SpeechPipeline } from "../synth/pipeline.ts";
import { validateSpeech } from "../request/speech-request.ts";
import { hasSpeakableContent, normalizeWhitespace, splitSentences } from "../text/sentences.ts";
import { audioStart, sendChunks, type Send } from "./audio-out.ts";
import type { WyomingTarget } from "./resolve.ts";

/** Text without a sentence end kept waiting at most this long before it is cut at a clause or space. */
const PENDING_LIMIT = 1000;
/** Characters of complete sentences waiting for synthesis before `add` waits for them (backpressure). */
const BACKLOG_LIMIT = 20_000;

const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });

export interface StreamDeps {
  pipeline: SpeechPipeline;
  send: Send;
  /** Reports an error to the client (an `error` event). */
  report: (err: unknown) => Promise<void>;
  signal: AbortSignal;
  log: Logger;
  samplesPerChunk: number;
  /** Fixed output rate, or null for the first group's. */
  sampleRate: number | null;
  /** text.maxLength: longer sentences are cut into pieces under it. */
  maxTextLength: number;
}

export class SynthesisStream {
  private buffer = "";
  private readonly queue: string[] = [];
  private backlog = 0;
  private work: Promise<void> = Promise.resolve();
  private rate: number | null;
  private failed = false;

  constructor(
    private readonly target: WyomingTarget,
    private readonly deps: StreamDeps,
  ) {
    this.rate = deps.sampleRate;
  }

  /**
   * Takes a text chunk; the sentences it completes are queued for synthesis. Resolves at once,
   * or, with a large backlog, once it is synthesised (so a fast writer is slowed to the engine's pace).
   */
  async add(text: string): Promise<void> {
    if (this.failed) return;
    this.buffer += text;
    const segments = [...segmenter.segment(this.buffer)].map((s) => s.segment);
    if (segments.length > 1) {
      this.buffer = segments.pop()!;
      for (const s of segments) this.enqueue(s);
    }
    if (this.buffer.length > PENDING_LIMIT) {
      const pieces = splitSentences(normalizeWhitespace(this.buffer), "en", Math.min(PENDING_LIMIT / 2, this.deps.maxTextLength));
      if (pieces.length > 1) {
        // The last piece waits for more text; a word cut by the chunking must stay whole.
        this.buffer = `${pieces.pop()!}${/\s$/.test(this.buffer) ? " " : ""}`;
        for (const p of pieces) this.enqueue(p);
      }
    }
    this.kick();
    if (this.backlog > BACKLOG_LIMIT) await this.work;
  }

  /** `synthesize-stop`: the remaining text as one more group; resolves when all groups are sent. */
  async finish(): Promise<void> {
    const rest = this.buffer;
    this.buffer = "";
    if (!this.failed) this.enqueue(rest);
    this.kick();
    await this.work;
  }

  /** True after an error (or a voice that could not be resolved): the rest of the text is dropped. */
  get hasFailed(): boolean {
    return this.failed;
  }

  /** Resolves when the synthesis queued so far has stopped (finished, failed or cancelled). */
  settled(): Promise<void> {
    return this.work;
  }

  /** Drops all text of this request (its voice could not be resolved; that error is sent already). */
  discard(): void {
    this.failed = true;
    this.queue.length = 0;
    this.backlog = 0;
  }

  private enqueue(text: string): void {
    const sentence = normalizeWhitespace(text);
    if (!hasSpeakableContent(sentence)) return;
    const max = this.deps.maxTextLength;
    for (const piece of sentence.length > max ? splitSentences(sentence, "en", max) : [sentence]) {
      this.queue.push(piece);
      this.backlog += piece.length;
    }
  }

  private kick(): void {
    if (this.queue.length) this.work = this.work.then(() => this.drain());
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.failed && !this.deps.signal.aborted) {
      const text = this.queue.shift()!;
      this.backlog -= text.length;
      let started = false;
      try {
        const { pipeline, send } = this.deps;
        const request = validateSpeech(
          { text, engine: this.target.engine, voice: this.target.voice, options: this.target.options, format: "pcm", stream: true },
          { maxLength: this.deps.maxTextLength },
        );
        const speech = await pipeline.start(request, this.deps.signal);
        const rate = (this.rate ??= speech.sampleRate);
        await send("audio-start", audioStart(rate));
        started = true;
        const sent = await sendChunks(send, speech, rate, this.deps.samplesPerChunk);
        await send("audio-stop", { timestamp: Math.round((sent.samples * 1000) / rate) });
        this.deps.log.debug({ engine: speech.engineId, voice: speech.voice, chars: text.length, samples: sent.samples, rate }, "wyoming sentence sent");
      } catch (err) {
        if (this.deps.signal.aborted) return;
        this.discard();
        await this.deps.report(err);
        if (started) await this.deps.send("audio-stop", {}).catch(() => {});
      }
    }
  }
}
