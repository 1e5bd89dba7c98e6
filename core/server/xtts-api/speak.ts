/**
 * Synthesis for the xtts-api-server routes: speaker and settings resolved, the pipeline run,
 * and the audio as XTTS delivers it (mono 16-bit PCM at 24 kHz, whatever the engine's rate).
 */
import { resampleLinear } from "../../audio/resample.ts";
import { ChorusError } from "../../errors.ts";
import type { Host } from "../../host.ts";
import type { SpeechStream } from "../../synth/pipeline.ts";
import { checkLanguage, cleanText } from "./fields.ts";
import { engineOptions, engineSpeed, resolveSpeaker, type XttsState } from "./target.ts";

/** XTTS v2's output rate; every response of this API is at it. */
export const XTTS_RATE = 24_000;

export interface SpeakRequest {
  text: string;
  speaker_wav: string;
  language: string;
}

export interface XttsSpeech {
  stream: SpeechStream;
  /** The stream's audio at XTTS_RATE; closing it closes the stream (and ends its lease). */
  chunks: AsyncIterableIterator<Int16Array>;
}

/**
 * The chunks resampled. Not an async generator: one closed before its first read would never
 * close the pipeline's stream (its lease would stay held).
 */
function at24k(stream: SpeechStream): AsyncIterableIterator<Int16Array> {
  const source = stream.chunks;
  const iterator: AsyncIterableIterator<Int16Array> = {
    next: async () => {
      const item = await source.next();
      return item.done ? item : { done: false, value: resampleLinear(item.value, stream.sampleRate, XTTS_RATE) };
    },
    return: async (value?: unknown) => source.return(value as Int16Array),
    throw: async (error?: unknown) => source.throw(error),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** Starts speaking (errors before the first audio are thrown from here, with their status). */
export async function speak(host: Host, state: XttsState, req: SpeakRequest, signal: AbortSignal, streaming: boolean): Promise<XttsSpeech> {
  const language = checkLanguage(req.language);
  const target = resolveSpeaker(req.speaker_wav, state, host.registry, host.config);
  const manifest = host.registry.manifest(target.engine);
  const options = engineOptions(manifest, state.settings, { language, model: state.model, streaming });
  let stream: SpeechStream;
  try {
    stream = await host.pipeline.start({ text: cleanText(req.text), engine: target.engine, voice: target.voice, speed: engineSpeed(manifest, state.settings), options }, signal);
  } catch (err) {
    if (err instanceof ChorusError && err.field === "voice") {
      throw new ChorusError(err.code, `Speaker '${req.speaker_wav}' not found: ${err.message.replace(/\(GET [^)]*\)/, "").trim()} (GET /speakers lists them)`, { field: "speaker_wav", cause: err });
    }
    if (err instanceof ChorusError && err.field === "text") throw new ChorusError(err.code, err.message, { field: "text", cause: err });
    throw err;
  }
  return { stream, chunks: at24k(stream) };
}
