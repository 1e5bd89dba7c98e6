/**
 * A short first chunk, for time to first audio (issue 15). With ten sentences of equal length
 * the first audio waits for one tenth of the synthesis; so when a text is long enough, the
 * first sentence's opening is synthesised on its own and the rest of the sentence follows as
 * the next part: the first audio waits for a few words only.
 *
 * Where it cuts: at the last clause mark (`,` `;` `:` or a dash) that leaves between
 * MIN_HEAD_WORDS and `maxWords` words in the head, else after `maxWords` words; always between
 * words, never inside one, and never so that the sentence's rest is shorter than
 * MIN_TAIL_WORDS. Nothing changes when the text has fewer than `4 x maxWords` words (a
 * one-sentence short text sounds exactly as before), when its first sentence is already short,
 * or when `maxWords` is 0 (config `text.firstChunkWords`).
 *
 * The cost (config `text.firstChunkWords`, default 6; 0 turns it off): the head is its own utterance, so the
 * engine ends it as one (eSpeak and Flite: a short pause and a falling tone at the cut, where a
 * comma would have a slight rise; Piper: a sentence-end pause), once per request. At a clause
 * mark this is close to the sentence's own phrasing; after N words it can sound like a break
 * in the middle of a phrase.
 */
import { splitSentences } from "./sentences.ts";

/** The head never has fewer words than this when cut at a clause mark. */
export const MIN_HEAD_WORDS = 2;
/** The first sentence's rest keeps at least this many words. */
export const MIN_TAIL_WORDS = 3;

const WORD = /\S+/g;
/** WORD for hasWords' counting (exec moves its lastIndex). */
const COUNTED = /\S+/g;
/** How much of a text the host looks at for its first sentence, characters (a longer first sentence is cut within it). */
const FIRST_SENTENCE_SCAN = 2000;
/** A clause mark at the end of a word (`word,`), or a dash standing between words. */
const CLAUSE_END = /[,;:\u2013\u2014]["'\u2019\u201D)\]]*$|^(?:-|--|\u2013|\u2014)$/u;

function words(text: string): { start: number; end: number; text: string }[] {
  return [...text.matchAll(WORD)].map((m) => ({ start: m.index, end: m.index + m[0].length, text: m[0] }));
}

/** Whether the parts hold at least `n` words (counted only as far as needed: a long text is not walked whole). */
function hasWords(parts: string[], n: number): boolean {
  let count = 0;
  for (const part of parts) {
    COUNTED.lastIndex = 0; // one shared expression (compiling one per call cost more than the count)
    while (COUNTED.exec(part)) if (++count >= n) return true;
  }
  return false;
}

/**
 * The end (exclusive index into `sentence`) of its first chunk, or undefined when it should not
 * be cut. `sentence` is one sentence of normalised text.
 */
export function firstChunkEnd(sentence: string, maxWords: number): number | undefined {
  if (maxWords <= 0) return undefined;
  const all = words(sentence);
  if (all.length < maxWords + MIN_TAIL_WORDS) return undefined;
  // The last clause mark within the first maxWords words (a dash ends the head before it).
  for (let i = Math.min(maxWords, all.length - MIN_TAIL_WORDS) - 1; i + 1 >= MIN_HEAD_WORDS; i--) {
    const word = all[i]!;
    if (/^(?:-|--|\u2013|\u2014)$/u.test(word.text)) {
      if (i >= MIN_HEAD_WORDS) return all[i - 1]!.end;
      continue;
    }
    if (CLAUSE_END.test(word.text)) return word.end;
  }
  return all[maxWords - 1]!.end;
}

/**
 * `parts` (the sentences the host will synthesise one by one, or the whole text as one part
 * when the engine splits it) with the first one's opening cut off as its own part, when the
 * text is long enough (see above). The parts joined with spaces are the same words as before.
 */
export function withShortFirstChunk(parts: string[], maxWords: number, locale = "en"): string[] {
  if (maxWords <= 0 || parts.length === 0) return parts;
  if (!hasWords(parts, 4 * maxWords)) return parts;
  const first = parts[0]!;
  // The first sentence: the part itself when the host split the text, else the text's first
  // (looked for in the text's opening only: a long text is not split whole for it).
  const sentence = parts.length > 1 ? first : (splitSentences(first.slice(0, FIRST_SENTENCE_SCAN), locale)[0] ?? first);
  if (!first.startsWith(sentence)) return parts;
  const end = firstChunkEnd(sentence, maxWords);
  if (end === undefined) return parts;
  const head = first.slice(0, end).trim();
  const rest = first.slice(end).trim();
  return rest ? [head, rest, ...parts.slice(1)] : parts;
}

/**
 * The request's turns: the units between which another request may take the engine (sentence
 * turns, core/scheduler/turns.ts), each the texts the engine speaks one after the other in it.
 * The short first chunk and the rest of its sentence make one turn (sent as one engine call:
 * LeasedEngine.synthesizeMore), so the engine does not wait for a round trip between them and
 * a turn there, a few words in, would give another request nothing; every other part is a turn.
 * A turn is also what is made again after a failure: the same engine skips what was heard, but
 * a fallback to another engine (another voice) says the whole turn, the short chunk included.
 */
export function speechTurns(parts: string[], maxWords: number, locale = "en"): string[][] {
  const cut = withShortFirstChunk(parts, maxWords, locale);
  if (cut.length === parts.length) return cut.map((p) => [p]);
  return [[cut[0]!, cut[1]!], ...cut.slice(2).map((p) => [p])];
}
