/** Text preparation shared by every engine: whitespace normalisation and sentence splitting. */

/** Collapses runs of whitespace (incl. newlines, NBSP, zero-width) to single spaces; trims. */
export function normalizeWhitespace(text: string): string {
  return text
    .replace(/[\u200B-\u200D\uFEFF]/g, "")
    .replace(/\s+/gu, " ")
    .trim();
}

const segmenters = new Map<string, Intl.Segmenter>();

/**
 * Splits normalised text into sentences with `Intl.Segmenter` (Unicode sentence boundaries),
 * trimming each and dropping empty ones. Very long sentences are cut further at clause
 * punctuation, then at spaces, so that no piece exceeds `maxSentence` characters.
 */
export function splitSentences(text: string, locale = "en", maxSentence = 400): string[] {
  let segmenter = segmenters.get(locale);
  if (!segmenter) {
    segmenter = new Intl.Segmenter(locale, { granularity: "sentence" });
    segmenters.set(locale, segmenter);
  }
  const out: string[] = [];
  for (const { segment } of segmenter.segment(text)) {
    const sentence = segment.trim();
    if (!sentence) continue;
    out.push(...cutLong(sentence, maxSentence));
  }
  return out;
}

function cutLong(sentence: string, max: number): string[] {
  if (sentence.length <= max) return [sentence];
  const pieces: string[] = [];
  let rest = sentence;
  while (rest.length > max) {
    const window = rest.slice(0, max);
    let at = Math.max(window.lastIndexOf(", "), window.lastIndexOf("; "), window.lastIndexOf(": "));
    if (at < max / 3) at = window.lastIndexOf(" ");
    if (at < 1) at = max - 1;
    pieces.push(rest.slice(0, at + 1).trim());
    rest = rest.slice(at + 1).trim();
  }
  if (rest) pieces.push(rest);
  return pieces;
}

/** True when the text contains something speakable (a letter or a digit in any script). */
export function hasSpeakableContent(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}
