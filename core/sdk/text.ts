/** Text helpers for engines that split text themselves (`sentenceSplitting: "engine"`). */
export { normalizeWhitespace, splitSentences } from "../text/sentences.ts";
