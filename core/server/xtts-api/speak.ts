/**
 * Synthesis for the xtts-api-server routes: speaker and settings resolved, the pipeline run,
 * validated as one request; the routes have the output stage deliver it as XTTS does (mono
 * 16-bit PCM at 24 kHz, whatever the engine's rate).
 */
import { ChorusError } from "../../errors.ts";
import { validateSpeech } from "../../request/speech-request.ts";
import type { Host } from "../../host.ts";
import type { SpeechStream } from "../../synth/pipeline.ts";
import { checkLanguage, cleanText } from "./fields.ts";
import { engineOptions, engineSpeed, speakerTarget, type XttsState } from "./target.ts";
import { engineErrorOfVoice } from "../../voices/reference.ts";

/** XTTS v2's output rate; every response of this API is at it. */
export const XTTS_RATE = 24_000;

export interface SpeakRequest {
  text: string;
  speaker_wav: string;
  language: string;
}

/** Starts speaking (errors before the first audio are thrown from here, with their status). */
export async function speak(host: Host, state: XttsState, req: SpeakRequest, signal: AbortSignal, streaming: boolean): Promise<SpeechStream> {
  const language = checkLanguage(req.language);
  const target = speakerTarget(req.speaker_wav, state, host.registry, host.config);
  const manifest = host.registry.manifest(target.engine);
  const options = engineOptions(manifest, state.settings, { language, model: state.model, streaming });
  // xtts-api-server's names are the request's (text); its speaker error is worded below.
  const speech = validateSpeech(
    {
      text: cleanText(req.text),
      engine: target.engine,
      voice: target.voice,
      speed: engineSpeed(manifest, state.settings),
      options,
      format: "wav",
      stream: streaming,
    },
    host.config.text,
  );
  try {
    return await host.pipeline.start(speech, signal);
  } catch (err) {
    if (err instanceof ChorusError && err.field === "voice") {
      throw new ChorusError(err.code, `Speaker '${req.speaker_wav}' not found: ${err.message.replace(/\(GET [^)]*\)/, "").trim()} (GET /speakers lists them)`, {
        field: "speaker_wav",
        cause: err,
      });
    }
    // `engine:voice` in speaker_wav named another engine: its errors are about speaker_wav
    throw engineErrorOfVoice(err, target, "speaker_wav");
  }
}
