/**
 * The pipeline's voice lookup: each engine instance's voices, asked once and kept, and the
 * voice a request names resolved against them (by id, name or language code: voices/match.ts).
 */
import type { Lease, LeasedEngine } from "../scheduler/lease.ts";
import type { Voice } from "../../packages/sdk/src/index.ts";
import { ChorusError } from "../errors.ts";
import { matchVoice } from "../voices/match.ts";

export class EngineVoices {
  private readonly cache = new WeakMap<LeasedEngine, Promise<Voice[]>>();

  /**
   * An engine instance's voices, asked once and kept; `fresh` asks again (engines such as
   * Piper gain and lose voices while they run).
   */
  list(engine: LeasedEngine, fresh = false): Promise<Voice[]> {
    let voices = fresh ? undefined : this.cache.get(engine);
    if (!voices) {
      voices = engine.listVoices();
      this.cache.set(engine, voices);
      voices.catch(() => this.cache.delete(engine));
    }
    return voices;
  }

  /** Forgets an instance's kept list (a voice removed since it was listed: the next request asks afresh). */
  forget(engine: LeasedEngine): void {
    this.cache.delete(engine);
  }

  /**
   * The id of the voice `wanted` names on the leased engine. A fallback engine (`isFallback`)
   * gets its default voice when it has no such voice; the requested engine throws a 400 naming `voice`.
   */
  async resolve(lease: Lease, wanted: string | undefined, isFallback: boolean): Promise<string> {
    const defaultVoice = lease.manifest.defaultVoice;
    let voices = await this.list(lease.engine);
    // By id, name or language code (`en` -> the engine's default voice for English): voices/match.ts.
    const byId = (id: string | undefined) => (id === undefined ? undefined : matchVoice(voices, id, defaultVoice));
    // A voice added since the list was kept: ask the engine again before saying it is unknown.
    if (wanted !== undefined && !isFallback && !byId(wanted)) voices = await this.list(lease.engine, true);
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
