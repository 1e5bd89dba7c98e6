/**
 * Long texts for piper-phonemize: the WASM stack holds `main`'s argument, so a text is cut
 * into pieces at the places espeak-ng would end a sentence anyway (phonemizer.ts phonemizes
 * piece by piece, and the sentences come out as for the whole text).
 */

/** White space to espeak-ng: not the no-break spaces (U+00A0, U+2007, U+202F) nor the BOM. */
const SPACE = "\\t\\n\\v\\f\\r \\u0085\\u1680\\u2000-\\u2006\\u2008-\\u200a\\u2028\\u205f\\u3000";
/** Marks that end a sentence when white space follows (the period apart: see SENTENCE_END). */
const END_MARKS =
  "!?\\u037e\\u0589\\u061f\\u06d4\\u0700\\u0701\\u07f9\\u0964\\u0965\\u1362\\u1367\\u1368\\u166e\\u1803\\u1809\\u1944\\u1945" +
  "\\u203c\\u2047\\u2cf9-\\u2cfb\\u2e3c\\u3002\\ua4ff\\ua60e\\ua60f\\ua6f3\\ua6f7\\ufe12\\ufe15\\ufe16\\ufe52\\ufe56\\ufe57\\uff01\\uff0e\\uff1f\\uff61";
/** Marks that end a sentence with no white space after them: CJK 。！？．, Armenian ։, the danda ।. */
const ENDS_WITHOUT_SPACE = /^[\u0589\u0964\u3002\uff01\uff0e\uff1f]/u;
/** Closing quotes and brackets that may follow the mark (espeak's brackets; not 」 』 】 ）). */
const CLOSERS = "\"'`)\\]}»”’》";
/**
 * A candidate sentence end: a period (one or two: three or more are an ellipsis, which is not a
 * sentence end) or a run of other end marks, closers, then white space. `abbr` is a short
 * capitalised word before the period (Dr. Mr. St. U.S.), where the end depends on the language.
 */
const SENTENCE_END = new RegExp(
  `(?:(?<abbr>(?<![\\p{L}\\p{N}])\\p{Lu}\\p{L}{0,2})?(?<period>(?<!\\.)\\.\\.?(?!\\.))|(?<marks>[${END_MARKS}]+))(?<closers>[${CLOSERS}]*)(?<space>[${SPACE}]*)`,
  "gu",
);
/** A blank line: espeak ends the sentence (a paragraph). */
const PARAGRAPH = new RegExp(`\\n[${SPACE}]*\\n[${SPACE}]*`, "gu");
/** Clause punctuation: espeak ends a clause (not a sentence), so the clause's phonemes are unchanged. */
const CLAUSE_END = new RegExp(`[,;:][${CLOSERS}]*[${SPACE}]+|[\\u3001\\uff0c\\uff1b\\uff1a]`, "gu");
const NEWLINE = new RegExp(`\\n[${SPACE}]*`, "gu");
const WHITE_SPACE = new RegExp(`[${SPACE}]+`, "gu");

/**
 * Cuts `text` into pieces whose JSON form fits `maxBytes`, where piper-phonemize would end a
 * sentence anyway, so the pieces give the sentences of the whole text. In order of preference:
 * the last sure sentence end (a paragraph; ! ? and the like before white space; CJK 。！？ with
 * or without; a period before white space unless a lower-case letter follows on the same line,
 * as in "3 p.m. on"), then a period after a short capitalised word (Dr. Smith: a sentence end
 * for some languages only), then clause punctuation, a newline, white space, and at worst a
 * character boundary (never inside a surrogate pair or before a combining mark).
 */
export function chunkText(text: string, maxBytes: number): string[] {
  const size = (s: string) => Buffer.byteLength(JSON.stringify(s));
  if (size(text) <= maxBytes) return [text];
  const chunks: string[] = [];
  let rest = text;
  while (size(rest) > maxBytes) {
    // Longest prefix that fits, by binary search on code units.
    let lo = 1;
    let hi = rest.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (size(rest.slice(0, mid)) <= maxBytes) lo = mid;
      else hi = mid - 1;
    }
    const window = rest.slice(0, lo);
    const ends = sentenceEnds(rest, lo);
    const cut =
      maxDefined(ends.sure, lastMatchEnd(window, PARAGRAPH)) ??
      ends.risky ??
      lastMatchEnd(window, CLAUSE_END) ??
      lastMatchEnd(window, NEWLINE) ??
      lastMatchEnd(window, WHITE_SPACE) ??
      characterBoundary(rest, lo);
    chunks.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest) chunks.push(rest);
  return chunks;
}

/** The last sure and the last doubtful sentence end (cut positions) in `text` up to `limit`. */
function sentenceEnds(text: string, limit: number): { sure?: number; risky?: number } {
  let sure: number | undefined;
  let risky: number | undefined;
  for (const m of text.matchAll(SENTENCE_END)) {
    const { abbr, period, marks, closers, space } = m.groups as Record<string, string | undefined>;
    const markEnd = m.index + m[0].length - space!.length;
    if (markEnd > limit) break;
    // Past `limit` only white space can follow the mark: cut inside it.
    const cut = Math.min(m.index + m[0].length, limit);
    if (!space && !(marks && ENDS_WITHOUT_SPACE.test(marks))) continue;
    if (period) {
      // espeak: a period then white space with no newline, then a lower-case letter, is no end.
      const next = text[m.index + m[0].length];
      if (!closers && !space!.includes("\n") && next !== undefined && /\p{Ll}/u.test(next)) continue;
      if (abbr) {
        risky = cut;
        continue;
      }
    }
    sure = cut;
  }
  return { sure, risky };
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function lastMatchEnd(text: string, pattern: RegExp): number | undefined {
  let end: number | undefined;
  for (const m of text.matchAll(pattern)) end = m.index + m[0].length;
  return end && end > 0 ? end : undefined;
}

/** The start of the grapheme (user-perceived character) at `at`, or the nearest code point boundary. */
function characterBoundary(text: string, at: number): number {
  const from = Math.max(0, at - 32);
  const grapheme = new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text.slice(from, at + 32)).containing(at - from);
  const start = from + (grapheme?.index ?? at - from);
  if (start > 0) return start;
  // One grapheme longer than the limit: cut between code points.
  const lowSurrogate = (i: number) => text.charCodeAt(i) >= 0xdc00 && text.charCodeAt(i) <= 0xdfff;
  return lowSurrogate(at) && at > 1 ? at - 1 : at;
}
