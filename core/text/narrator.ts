/**
 * Narrator segmentation (AllTalk's narrator mode): text inside asterisks is narration, text
 * inside double quotes is the character speaking, and the rest follows `textNotInside`.
 * Each part is then spoken with its own voice, in order. An unclosed `*` or `"` runs to the
 * end of the text (replies are often cut off mid-sentence).
 */
import { straightenQuotes } from "./filter.ts";

export type NarratorMode = boolean | "silent";
export type NotInside = "character" | "narrator" | "silent";
export type Role = "narrator" | "character";

export interface Segment {
  role: Role;
  text: string;
}

export interface NarratorOptions {
  /** `true`: narration has its voice; `false`: everything is the character; `silent`: narration is skipped. */
  narrator: NarratorMode;
  /** What text outside both `*...*` and `"..."` is. */
  textNotInside: NotInside;
}

type Raw = { kind: "narration" | "speech" | "outside"; text: string };

/** Splits into marked-up pieces, markers removed. Quotes inside narration stay narration. */
export function tokenize(input: string): Raw[] {
  const text = straightenQuotes(input);
  const out: Raw[] = [];
  let i = 0;
  let outside = "";
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "*" || ch === '"') {
      const end = text.indexOf(ch, i + 1);
      const stop = end < 0 ? text.length : end;
      if (outside) out.push({ kind: "outside", text: outside });
      outside = "";
      out.push({ kind: ch === "*" ? "narration" : "speech", text: text.slice(i + 1, stop) });
      i = stop + 1;
    } else {
      outside += ch;
      i++;
    }
  }
  if (outside) out.push({ kind: "outside", text: outside });
  return out;
}

const speakable = (s: string) => /[\p{L}\p{N}]/u.test(s);

/**
 * The parts to speak, in order, adjacent parts of one role merged, silent and empty parts
 * dropped. With the narrator off, the whole text (markers removed) is one character part,
 * unless `textNotInside` is `silent`, when only quoted and narrated text is kept.
 */
export function segmentNarration(input: string, options: NarratorOptions): Segment[] {
  const parts: Segment[] = [];
  for (const raw of tokenize(input)) {
    let role: Role | "silent";
    if (raw.kind === "speech") role = "character";
    else if (raw.kind === "narration") role = options.narrator === "silent" ? "silent" : "narrator";
    else role = options.textNotInside === "silent" ? "silent" : options.textNotInside;
    if (role === "narrator" && options.narrator === "silent") role = "silent";
    if (options.narrator === false && role === "narrator") role = "character";
    if (role === "silent") continue;
    const text = raw.text.replace(/\s+/g, " ").trim();
    if (!speakable(text)) continue;
    const last = parts[parts.length - 1];
    if (last && last.role === role) last.text = `${last.text} ${text}`;
    else parts.push({ role, text });
  }
  return parts;
}

/** Reads AllTalk's `narrator_enabled` form value (`true`, `false`, `silent`; case-insensitive). */
export function parseNarratorMode(value: string | undefined): NarratorMode | undefined {
  if (value === undefined || value === "") return false;
  const v = value.trim().toLowerCase();
  if (v === "true") return true;
  if (v === "false") return false;
  if (v === "silent") return "silent";
  return undefined;
}
