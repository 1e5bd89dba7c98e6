/**
 * Text preparation: whitespace normalisation and sentence splitting. The host splits with these
 * for engines that declare `sentenceSplitting: "host"`; an engine that splits its own text
 * (`"engine"`) may use them too.
 */

/** Collapses runs of whitespace (incl. newlines, NBSP, zero-width) to single spaces; trims. */
export function normalizeWhitespace(text: string): string {
  return text
    .replace(/[\u200B-\u200D\uFEFF]/g, "")
    .replace(/\s+/gu, " ")
    .trim();
}

const segmenters = new Map<string, Intl.Segmenter>();

/** Text handed to the segmenter at once: its cost grows faster than linearly with length. */
const WINDOW = 2000;

/**
 * Splits normalised text into sentences with `Intl.Segmenter` (Unicode sentence boundaries),
 * trimming each and dropping empty ones. Very long sentences are cut further at clause
 * punctuation, then at spaces, so that no piece exceeds `maxSentence` characters.
 * Long texts are segmented window by window (each window's last two sentences are segmented
 * again in the next), which keeps the time linear in the length of the text.
 */
export function splitSentences(text: string, locale = "en", maxSentence = 400): string[] {
  let segmenter = segmenters.get(locale);
  if (!segmenter) {
    segmenter = new Intl.Segmenter(locale, { granularity: "sentence" });
    segmenters.set(locale, segmenter);
  }
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = Math.min(text.length, start + WINDOW);
    const window = text.slice(start, end);
    let sentences = [...segmenter.segment(window)].map((s) => ({ text: s.segment, index: s.index }));
    let next = end;
    if (end < text.length) {
      if (sentences.length > 1) {
        // The last sentence may be unfinished, and the break before it was decided without
        // the text after the window ("Jan. 5" looks like a sentence end, "Jan. 5th" does not):
        // both are segmented again with what follows.
        const redo = sentences.splice(sentences.length > 2 ? -2 : -1);
        next = start + redo[0]!.index;
      } else {
        // One sentence longer than the window: cut it at its last space (cutLong cuts it anyway).
        const space = window.lastIndexOf(" ");
        if (space > 0) {
          sentences = [{ text: window.slice(0, space + 1), index: 0 }];
          next = start + space + 1;
        }
      }
    }
    for (const { text: segment } of sentences) {
      const sentence = segment.trim();
      if (sentence) out.push(...cutLong(sentence, maxSentence));
    }
    start = next;
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
