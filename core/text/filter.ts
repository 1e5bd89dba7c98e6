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
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", hellip: "…", mdash: "—", ndash: "–",
  lsquo: "‘", rsquo: "’", ldquo: "“", rdquo: "”", laquo: "«", raquo: "»", copy: "©", reg: "®", euro: "€", pound: "£", deg: "°",
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

/** Strips HTML markup: script/style bodies dropped, block and `<br>` tags become line breaks. */
export function stripHtml(text: string): string {
  return decodeEntities(
    text
      .replace(/<!--[\s\S]*?-->/g, "")
      .replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, "")
      .replace(/<br\s*\/?>/gi, "\n")
      .replace(/<\/?(p|div|li|ul|ol|h[1-6]|tr|blockquote|pre)\b[^>]*>/gi, "\n")
      .replace(/<\/?[a-z][^>]*>/gi, ""),
  );
}

/** Straight quotes for typographic ones, so the narrator finds `"` whatever the client typed. */
export function straightenQuotes(text: string): string {
  return text.replace(/[“”„‟«»]/g, '"').replace(/[‘’‚‛]/g, "'");
}

function removeMarkdown(text: string): string {
  return text
    .replace(/```[\s\S]*?```/g, " ")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/^\s{0,3}(#{1,6}|>+|[-+]\s|\d+\.\s)\s*/gm, "")
    .replace(/(^|\s)[_~]{1,2}(?=\S)|(?<=\S)[_~]{1,2}(?=\s|[.,!?;:]|$)/g, "$1")
    .replace(/\*{2,}/g, "");
}

/** Letters, marks, digits, whitespace and the punctuation a voice can use (plus `*` and `"`). */
const UNSPEAKABLE = /[^\p{L}\p{M}\p{N}\s.,!?;:'"()*&%$€£¥@+\-–—…\/=]/gu;

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
      return stripHtml(text).replace(/[ \t]+/g, " ").replace(/ *\n\s*/g, "\n").trim();
    case "standard":
      return standardFilter(text);
  }
}
