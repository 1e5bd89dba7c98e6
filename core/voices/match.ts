/**
 * Finding the voice a request means among an engine's voices: by id, by name (both
 * case-insensitively), then as a language code. A language code (`en`, `fr`, `pt_BR`) is that
 * language's default voice: the engine's `defaultVoice` when it speaks the language, else the
 * first voice (in the engine's order) listing the code itself, else the first listing a
 * regional form of it (`en` -> a voice listing only `en-us`); a regional code no voice speaks
 * falls back to its language (`en-au` -> `en`). Engines list their preferred
 * voice for a language first (eSpeak orders by its own language priorities).
 */
import type { Voice } from "../../packages/sdk/src/index.ts";

/**
 * What counts as a language code: a language (2-3 letters), then optionally a script (4
 * letters) and a region (2 letters or 3 digits): `en`, `pt-BR`, `es-419`, `zh-Hant-TW`. Longer
 * forms (`no-such-voice`) are voice names, never truncated into a language (`no`).
 */
const LANGUAGE = /^[a-z]{2,3}([-_][a-z]{4})?([-_]([a-z]{2}|\d{3}))?$/i;

export const normalizeLanguage = (tag: string) => tag.trim().toLowerCase().replace(/_/g, "-");

/** The voice `wanted` names by id or name (exact id first), or undefined. */
export function findVoice(voices: Voice[], wanted: string): Voice | undefined {
  const lower = wanted.toLowerCase();
  return voices.find((v) => v.id === wanted) ?? voices.find((v) => v.id.toLowerCase() === lower || v.name.toLowerCase() === lower);
}

/**
 * The default voice for language `code` among `voices`, or undefined. A regional tag no voice
 * speaks falls back to its parent (`en-au` -> `en`), as RFC 4647 lookup truncates tags.
 */
export function voiceForLanguage(voices: Voice[], code: string, defaultVoice?: string): Voice | undefined {
  if (!LANGUAGE.test(code)) return undefined;
  const preferred = defaultVoice ? voices.find((v) => v.id === defaultVoice) : undefined;
  const [language, ...rest] = normalizeLanguage(code).split("-");
  const script = rest.find((t) => t.length === 4);
  const region = rest.find((t) => t.length !== 4);
  // Most specific first; a script is dropped before the region (voices are tagged `fr-fr`).
  const tags = [...new Set([[language, script, region], [language, region], [language, script], [language]].map((t) => t.filter(Boolean).join("-")))];
  for (const tag of tags) {
    const speaks = (v: Voice, exact: boolean) =>
      v.languages.some((l) => normalizeLanguage(l) === tag || (!exact && normalizeLanguage(l).startsWith(`${tag}-`)));
    if (preferred && speaks(preferred, false)) return preferred;
    const found = voices.find((v) => speaks(v, true)) ?? voices.find((v) => speaks(v, false));
    if (found) return found;
  }
  return undefined;
}

/** A voice by id, name or language code. */
export function matchVoice(voices: Voice[], wanted: string, defaultVoice?: string): Voice | undefined {
  return findVoice(voices, wanted) ?? voiceForLanguage(voices, wanted, defaultVoice);
}
