/**
 * AllTalk's narrator mode, in the browser: text inside *asterisks* is the narrator, text in
 * "double quotes" is the character, and the rest is `notInside` (character, narrator or
 * silent). The same rules as core/text/narrator.ts (tests/web/narrator.test.ts compares
 * them), so the studio can speak each part with its own voice over POST /api/speech.
 */

const straightenQuotes = (text) => text.replace(/[“”„‟«»]/g, '"').replace(/[‘’‚‛]/g, "'");
const speakable = (s) => /[\p{L}\p{N}]/u.test(s);

/** Marked-up pieces, markers removed; an unclosed marker runs to the end. */
export function tokenize(input) {
  const text = straightenQuotes(input);
  const out = [];
  let i = 0;
  let outside = "";
  while (i < text.length) {
    const ch = text[i];
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

/**
 * The parts to speak in order, `{role: "narrator"|"character", text}`, adjacent parts of one
 * role merged. `narrator`: true, false (all character) or "silent" (narration skipped).
 */
export function segmentNarration(input, { narrator = true, textNotInside = "character" } = {}) {
  const parts = [];
  for (const raw of tokenize(input)) {
    let role;
    if (raw.kind === "speech") role = "character";
    else if (raw.kind === "narration") role = narrator === "silent" ? "silent" : "narrator";
    else role = textNotInside === "silent" ? "silent" : textNotInside;
    if (role === "narrator" && narrator === "silent") role = "silent";
    if (narrator === false && role === "narrator") role = "character";
    if (role === "silent") continue;
    const text = raw.text.replace(/\s+/g, " ").trim();
    if (!speakable(text)) continue;
    const last = parts[parts.length - 1];
    if (last && last.role === role) last.text = `${last.text} ${text}`;
    else parts.push({ role, text });
  }
  return parts;
}
