/**
 * Text filtering as AllTalk clients ask for it (`text_filtering`):
 * - `none`: the text as sent.
 * - `html`: the text is HTML (text-generation-webui sends escaped replies): tags removed,
 *   line-breaking tags become line breaks, entities decoded.
 * - `standard`: for chat replies: entities decoded, typographic quotes straightened, markdown
 *   and emoji removed, characters a voice cannot say dropped; `*` and `"` are kept for the
 *   narrator, and so is ordinary punctuation.
 */
export type TextFiltering = "none" | "standard" | "html";
export const TEXT_FILTERING_MODES = ["none", "standard", "html"] as const;

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  laquo: "«",
  raquo: "»",
  copy: "©",
  reg: "®",
  euro: "€",
  pound: "£",
  deg: "°",
};

/** Decodes named (common), decimal and hex HTML entities; unknown ones are left as they are. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : "";
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/**
 * Strips HTML markup: comments and script/style bodies dropped, block and `<br>` tags become
 * line breaks. Runs on the event loop, so every step is linear in the text, however it is
 * (mis)formed: the delimited parts use the scanners below, and the tag patterns only run on
 * the text up to the last `>` (where each `[^>]*` scan ends at a `>` and the match succeeds).
 */
export function stripHtml(text: string): string {
  const tags = upToLast(removeScriptAndStyle(removeComments(text)), ">", (head) =>
    head
      .replace(/<br\s*\/?>/gi, "\n")
      .replace(/<\/?(p|div|li|ul|ol|h[1-6]|tr|blockquote|pre)\b[^>]*>/gi, "\n")
      .replace(/<\/?[a-z][^>]*>/gi, ""),
  );
  return decodeEntities(tags);
}

/**
 * Applies `fn` to the text up to and including the last `needle`, leaving the rest as it is.
 * For patterns that end in `needle`: none can match after it, and the regex engine would
 * otherwise rescan that tail from every candidate start (quadratic on unclosed markup).
 */
function upToLast(text: string, needle: string, fn: (head: string) => string): string {
  const last = text.lastIndexOf(needle);
  if (last < 0) return text;
  const cut = last + needle.length;
  return fn(text.slice(0, cut)) + text.slice(cut);
}

/**
 * `indexOf(needle, from)` for calls whose `from` never decreases, remembering the last answer:
 * a scanner that retries from each `[` or `<` then finds the same closing character without
 * reading the text between again.
 */
function forwardFinder(text: string, needle: string): (from: number) => number {
  let found: number | undefined;
  return (from) => {
    // -1 stays right (none after an earlier `from`), and so does an answer not behind `from`.
    if (found === undefined || (found >= 0 && found < from)) found = text.indexOf(needle, from);
    return found;
  };
}

/** `/<!--[\s\S]*?-->/g` removed, in linear time: with no `-->` left, no comment can close. */
function removeComments(text: string): string {
  let out = "";
  let pos = 0;
  for (;;) {
    const start = text.indexOf("<!--", pos);
    if (start < 0) break;
    const end = text.indexOf("-->", start + 4);
    if (end < 0) break;
    out += text.slice(pos, start);
    pos = end + 3;
  }
  return out + text.slice(pos);
}

/**
 * `/<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>/gi` removed, in linear time. An element whose
 * closing tag is missing is left as it is (as the regex did), and once one is missing, later
 * elements of that name are not searched again (none of them can close either).
 */
function removeScriptAndStyle(text: string): string {
  const open = /<(script|style)\b/gi;
  const tagEnd = forwardFinder(text, ">");
  const unclosed = new Set<string>();
  let out = "";
  let pos = 0;
  for (let m = open.exec(text); m; m = open.exec(text)) {
    const name = m[1]!.toLowerCase();
    if (unclosed.has(name)) continue;
    const bodyStart = tagEnd(m.index + m[0].length) + 1;
    if (bodyStart === 0) break; // no `>` left: no opening tag can be complete
    const close = new RegExp(`</${name}\\s*>`, "gi");
    close.lastIndex = bodyStart;
    if (!close.exec(text)) {
      unclosed.add(name);
      continue;
    }
    out += text.slice(pos, m.index);
    pos = open.lastIndex = close.lastIndex;
  }
  return out + text.slice(pos);
}

/** Straight quotes for typographic ones, so the narrator finds `"` whatever the client typed. */
export function straightenQuotes(text: string): string {
  return text.replace(/[“”„‟«»]/g, '"').replace(/[‘’‚‛]/g, "'");
}

/**
 * Markdown links and images become their text: `/!\[([^\]]*)\]\([^)]*\)/g` (images, `image`)
 * or `/\[([^\]]+)\]\([^)]*\)/g` replaced by `$1`, in linear time. The regexes rescanned the
 * rest of the text from every `[` of an unclosed `[a](` (quadratic); here a missing `]` or `)`
 * ends the search, and the next `]` and `)` are found once however many `[` precede them.
 */
function replaceLinks(text: string, image: boolean): string {
  const opener = image ? "![" : "[";
  const labelEnd = forwardFinder(text, "]");
  const targetEnd = forwardFinder(text, ")");
  let out = "";
  let pos = 0;
  let from = 0;
  for (;;) {
    const start = text.indexOf(opener, from);
    if (start < 0) break;
    const label = start + opener.length;
    const end = labelEnd(label);
    if (end < 0) break; // no `]` left: no later link can be complete
    if (text[end + 1] !== "(" || (!image && end === label)) {
      from = start + 1;
      continue;
    }
    const stop = targetEnd(end + 2);
    if (stop < 0) break; // no `)` left
    out += text.slice(pos, start) + text.slice(label, end);
    pos = from = stop + 1;
  }
  return out + text.slice(pos);
}

function removeMarkdown(text: string): string {
  const noCode = text.replace(/```[\s\S]*?```/g, " ").replace(/`([^`]*)`/g, "$1");
  return replaceLinks(replaceLinks(noCode, true), false)
    .replace(/^\s{0,3}(#{1,6}|>+|[-+]\s|\d+\.\s)\s*/gm, "")
    .replace(/(^|\s)[_~]{1,2}(?=\S)|(?<=\S)[_~]{1,2}(?=\s|[.,!?;:]|$)/g, "$1")
    .replace(/\*{2,}/g, "");
}

/** Letters, marks, digits, whitespace and the punctuation a voice can use (plus `*` and `"`). */
const UNSPEAKABLE = /[^\p{L}\p{M}\p{N}\s.,!?;:'"()*&%$€£¥@+\-–—…/=]/gu;

export function standardFilter(text: string): string {
  let out = straightenQuotes(decodeEntities(text));
  out = removeMarkdown(out);
  out = out
    .replace(/\p{Extended_Pictographic}/gu, " ")
    .replace(UNSPEAKABLE, " ")
    .replace(/([!?])[!?]+/g, "$1")
    .replace(/([.,;:])\1+/g, (_m, p: string) => (p === "." ? "…" : p))
    .replace(/[ \t]+/g, " ")
    .replace(/ *\n[\s]*/g, "\n")
    .replace(/ ([.,!?;:])/g, "$1");
  return out.trim();
}

export function filterText(text: string, mode: TextFiltering): string {
  switch (mode) {
    case "none":
      return text;
    case "html":
      return stripHtml(text)
        .replace(/[ \t]+/g, " ")
        .replace(/ *\n\s*/g, "\n")
        .trim();
    case "standard":
      return standardFilter(text);
  }
}
