/**
 * What a client sends as a voice, on every surface (native, OpenAI, AllTalk, CLI):
 * - `engine:voice` names the engine too (`flite:slt`); `engine:` alone is that engine's default voice;
 * - anything else is a voice of the engine the request is for: a voice id or name, or a
 *   language code (`en`, `fr`, `pt-BR`), which becomes that language's default voice on the
 *   engine (match.ts, in the pipeline).
 */
import { ChorusError } from "../errors.ts";

export interface EngineLookup {
  get(id: string): unknown;
  /** Whether some engine's voice ids use `prefix:` (its manifest's `voicePrefixes`). */
  voicePrefix?(prefix: string): boolean;
}

export interface VoiceTarget {
  /** The engine named by the voice, else the request's own (undefined: the default engine). */
  engine: string | undefined;
  /** The voice for that engine; undefined for the engine's default voice. */
  voice: string | undefined;
  /**
   * The voice (`engine:voice`) picked an engine other than the request's own: that engine's
   * errors are re-said under the voice field the client sent (`engineErrorOfVoice`).
   */
  engineFromVoice?: boolean;
}

const ENGINE_ID = /^[a-z][a-z0-9-]{0,47}$/;

/**
 * Splits `engine:voice`. `engine` is the request's engine; when `explicit` (the client named an
 * engine itself) a voice naming another engine is a 400, otherwise the voice's engine wins.
 */
export function resolveVoiceRef(
  registry: EngineLookup,
  rawVoice: string | undefined,
  engine: string | undefined,
  options: { explicit?: boolean; field?: string } = {},
): VoiceTarget {
  const field = options.field ?? "voice";
  const voice = rawVoice?.trim();
  if (!voice) return { engine, voice: undefined };
  const colon = voice.indexOf(":");
  if (colon <= 0) return { engine, voice };
  const named = voice.slice(0, colon).trim().toLowerCase();
  const id = voice.slice(colon + 1).trim() || undefined;
  if (!registry.get(named)) {
    // Not an engine: a voice id with a colon in it (an engine's own prefix, e.g. `voiceset:`), unless it looks like an engine id.
    if (!ENGINE_ID.test(named) || registry.voicePrefix?.(named)) return { engine, voice };
    throw new ChorusError("CHORUS_ERR_ENGINE_NOT_FOUND", `voice '${voice}' names engine '${named}', which is not installed (GET /api/engines lists them)`, {
      field,
    });
  }
  if (options.explicit && engine !== undefined && engine !== named) {
    throw new ChorusError(
      "CHORUS_ERR_REQUEST_INVALID",
      `voice '${voice}' names engine '${named}' but the request asks for engine '${engine}'; leave one of them out`,
      { field },
    );
  }
  return named === engine ? { engine, voice: id } : { engine: named, voice: id, engineFromVoice: true };
}

/**
 * An error about the engine (field `engine`: it cannot load, needs setup, ...) of a request
 * whose engine came from its voice (`target.engineFromVoice`): re-said under the client's
 * voice field (`voice`, `speaker_wav`, `character_voice_gen`, ...), as the client never sent
 * an `engine`. Other errors, and every error of a request whose engine did not come from the
 * voice, pass unchanged.
 */
export function engineErrorOfVoice(error: unknown, target: { engineFromVoice?: boolean } | undefined, field: string): unknown {
  if (!target?.engineFromVoice || !(error instanceof ChorusError) || error.field !== "engine") return error;
  return new ChorusError(error.code, error.message, { field, retryAfter: error.retryAfter, details: error.details, cause: error });
}
