/**
 * Text checks of the host. Normalisation and sentence splitting are the SDK's (engines that
 * split their own text use the same functions), re-exported here for the pipeline.
 */
export { normalizeWhitespace, splitSentences } from "../../packages/sdk/src/text.ts";

/** True when the text contains something speakable (a letter or a digit in any script). */
export function hasSpeakableContent(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}
