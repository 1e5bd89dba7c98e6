/**
 * Cutting a transcribed recording into training clips, the way AllTalk's step 1 does but
 * without its silent mistakes: cuts at sentence ends; a sentence longer than the maximum is
 * split at its longest pause between words (each part gets its own words, never the whole
 * sentence's text); a sentence shorter than the minimum is joined to a neighbour (at most two
 * sentences per clip); edges get a small buffer that never reaches into the neighbour's words.
 */
import type { Word } from "./transcriber.ts";

export interface SegmentOptions {
  minSeconds: number;
  maxSeconds: number;
  /** Silence kept before and after the words, seconds (AllTalk: 0.2). */
  buffer: number;
  /** Length of the recording, seconds. */
  duration: number;
}

export interface Segment {
  start: number;
  end: number;
  text: string;
  /** Sentences (or parts of one) it holds. */
  sentences: number;
  words: Word[];
}

export interface SegmentResult {
  segments: Segment[];
  /** Stretches left out, with why. */
  skipped: { start: number; end: number; text: string; reason: string }[];
}

const SENTENCE_END = /[.!?。！？]["'”’)\]]*$/;

const span = (words: Word[]) => words[words.length - 1]!.end - words[0]!.start;
const join = (words: Word[]) =>
  words
    .map((w) => w.word.trim())
    .filter(Boolean)
    .join(" ");

function sentences(words: Word[]): Word[][] {
  const out: Word[][] = [];
  let current: Word[] = [];
  for (const w of words) {
    if (!w.word.trim()) continue;
    current.push(w);
    if (SENTENCE_END.test(w.word.trim())) {
      out.push(current);
      current = [];
    }
  }
  if (current.length) out.push(current);
  return out;
}

/** Splits at the longest gap between words until every part is at most `max` long. */
function splitLong(words: Word[], max: number): Word[][] {
  if (span(words) <= max || words.length < 2) return [words];
  let best = 1;
  let bestGap = -Infinity;
  for (let i = 1; i < words.length; i++) {
    // prefer long pauses, then cuts near the middle (so both halves can fit)
    const gap = words[i]!.start - words[i - 1]!.end;
    const balance = Math.min(words[i - 1]!.end - words[0]!.start, words[words.length - 1]!.end - words[i]!.start);
    const score = gap + balance * 1e-3 + (/[,;:]$/.test(words[i - 1]!.word) ? 0.05 : 0);
    if (score > bestGap) [best, bestGap] = [i, score];
  }
  return [...splitLong(words.slice(0, best), max), ...splitLong(words.slice(best), max)];
}

export function segmentWords(words: Word[], o: SegmentOptions): SegmentResult {
  const skipped: SegmentResult["skipped"] = [];
  // words may span at most this, so the buffered clip stays within maxSeconds
  const maxSpan = o.maxSeconds - 2 * o.buffer;
  // Units: whole sentences, or the parts of a too-long one (a part counts as one sentence).
  const units: { words: Word[]; whole: boolean }[] = [];
  for (const s of sentences(words)) {
    const parts = splitLong(s, maxSpan);
    for (const p of parts) units.push({ words: p, whole: parts.length === 1 });
  }
  const groups: Word[][][] = [];
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!.words;
    if (span(u) > maxSpan) {
      skipped.push({ start: u[0]!.start, end: u[u.length - 1]!.end, text: join(u), reason: `a single word run longer than ${o.maxSeconds} s` });
      continue;
    }
    if (span(u) < o.minSeconds) {
      const next = units[i + 1]?.words;
      if (next && next[next.length - 1]!.end - u[0]!.start <= maxSpan) {
        groups.push([u, next]);
        i++;
        continue;
      }
      const prev = groups[groups.length - 1];
      if (prev && prev.length === 1 && u[u.length - 1]!.end - prev[0]![0]!.start <= maxSpan) {
        prev.push(u);
        continue;
      }
      skipped.push({ start: u[0]!.start, end: u[u.length - 1]!.end, text: join(u), reason: `shorter than ${o.minSeconds} s with no neighbour to join` });
      continue;
    }
    groups.push([u]);
  }
  const all = units.flatMap((u) => u.words);
  const segments: Segment[] = groups
    .filter((g) => {
      const ws = g.flat();
      if (span(ws) >= o.minSeconds) return true;
      skipped.push({
        start: ws[0]!.start,
        end: ws[ws.length - 1]!.end,
        text: join(ws),
        reason: `shorter than ${o.minSeconds} s even joined with its neighbour`,
      });
      return false;
    })
    .map((g) => {
      const ws = g.flat();
      const first = ws[0]!;
      const last = ws[ws.length - 1]!;
      const before = all[all.indexOf(first) - 1];
      const after = all[all.indexOf(last) + 1];
      // the buffer stops halfway to the neighbouring word
      const start = Math.max(0, first.start - o.buffer, before ? (before.end + first.start) / 2 : 0);
      const end = Math.min(o.duration, last.end + o.buffer, after ? (last.end + after.start) / 2 : o.duration);
      return { start, end, text: join(ws), sentences: g.length, words: ws };
    });
  return { segments, skipped };
}
