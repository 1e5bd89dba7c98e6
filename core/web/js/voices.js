/**
 * Voice lists for the studio: search, language filter, the voice to preselect and names
 * short enough for a phone. Pure functions (tests/web/voices.test.ts).
 * A voice is `{id, name, languages: string[], gender?, description?}` (GET /api/voices).
 */

/** The primary language subtag, lower-case: `en-US` -> `en`, `cmn-latn-pinyin` -> `cmn`. */
export function baseLanguage(tag) {
  return String(tag).toLowerCase().split(/[-_]/)[0] ?? "";
}

/** The languages the voices speak (primary subtags), most voices first, then by name. */
export function languagesOf(voices) {
  const counts = new Map();
  for (const v of voices) {
    for (const lang of new Set((v.languages ?? []).map(baseLanguage).filter(Boolean))) counts.set(lang, (counts.get(lang) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([code, count]) => ({ code, count }));
}

let displayNames;
/** `de` -> `German` (the browser's own names; the code itself where it has none). */
export function languageName(code) {
  try {
    displayNames ??= new Intl.DisplayNames(["en"], { type: "language" });
    const name = displayNames.of(code);
    return name && name.toLowerCase() !== code ? name : code;
  } catch {
    return code;
  }
}

/**
 * Voices matching every word of `query` (in id, name, languages, language names or
 * description) and speaking `language` (a primary subtag; empty for all).
 */
export function filterVoices(voices, { query = "", language = "" } = {}) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return voices.filter((v) => {
    const langs = (v.languages ?? []).map((l) => String(l).toLowerCase());
    if (language && !langs.some((l) => baseLanguage(l) === language)) return false;
    if (!words.length) return true;
    const hay = [v.id, v.name, v.description ?? "", v.gender ?? "", ...langs, ...langs.map((l) => languageName(baseLanguage(l)))].join(" ").toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/**
 * The voice to select: the one chosen before (still listed), else the engine's default (what
 * a request naming no voice gets), else the first. Never the alphabetically first by accident.
 */
export function pickVoice(voices, { previous, engineDefault } = {}) {
  const has = (id) => id && voices.some((v) => v.id === id);
  if (has(previous)) return previous;
  if (has(engineDefault)) return engineDefault;
  return voices[0]?.id ?? "";
}

/**
 * A name short enough for a select on a phone: links and [bracketed ids] removed, whitespace
 * collapsed, cut at `max` characters with an ellipsis. The full name goes in the tooltip.
 */
export function shortName(name, max = 36) {
  let s = String(name)
    .replace(/\/*\s*(https?:\/\/|www\.)\S*/gi, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  if (!s) s = String(name).trim();
  return s.length > max ? `${s.slice(0, max - 1).trimEnd()}…` : s;
}

/** The option text: short name and up to two languages. */
export function voiceLabel(v, max = 36) {
  const langs = (v.languages ?? []).slice(0, 2).join(", ");
  return langs ? `${shortName(v.name, max)} (${langs})` : shortName(v.name, max);
}
