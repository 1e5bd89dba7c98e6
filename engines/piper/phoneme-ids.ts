/**
 * Phonemes to model ids, as piper-phonemize's `phonemes_to_ids`: BOS, pad, then every
 * phoneme followed by pad, then EOS (`^ _ p1 _ p2 _ ... $`), each symbol taking all the ids
 * the voice's `phoneme_id_map` lists for it. Phonemes the map lacks are dropped and reported.
 */
import type { VoiceConfig } from "./voice-config.ts";
import { textPhonemes, type EspeakPhonemizer, type Sentence } from "./phonemizer.ts";

export interface MappedSentence {
  phonemes: string[];
  phoneme_ids: number[];
}

export function phonemesToIds(phonemes: readonly string[], idMap: Record<string, number[]>, missing?: Map<string, number>): number[] {
  const pad = idMap._ ?? [];
  const ids: number[] = [...(idMap["^"] ?? []), ...pad];
  for (const phoneme of phonemes) {
    const mapped = idMap[phoneme];
    if (!mapped) {
      missing?.set(phoneme, (missing.get(phoneme) ?? 0) + 1);
      continue;
    }
    ids.push(...mapped, ...pad);
  }
  ids.push(...(idMap.$ ?? []));
  return ids;
}

/** Applies the voice's `phoneme_map` replacements (usually none). */
export function applyPhonemeMap(sentence: Sentence, phonemeMap: Record<string, string[]>): Sentence {
  if (Object.keys(phonemeMap).length === 0) return sentence;
  return sentence.flatMap((p) => phonemeMap[p] ?? [p]);
}

/** Every sentence's phonemes and ids under `config`; `missing` collects unknown phonemes. */
export function mapSentences(sentences: Sentence[], config: VoiceConfig, missing?: Map<string, number>): MappedSentence[] {
  return sentences.map((raw) => {
    const phonemes = applyPhonemeMap(raw, config.phoneme_map);
    return { phonemes, phoneme_ids: phonemesToIds(phonemes, config.phoneme_id_map, missing) };
  });
}

/** "'x' (2), 'y' (1)" for a log line. */
export function describeMissing(missing: Map<string, number>): string {
  return [...missing].map(([p, n]) => `'${p}' U+${p.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} (${n})`).join(", ");
}

/** What the engine feeds the model for `text`: per sentence, phonemes and ids. */
export async function phonemizeForVoice(
  phonemizer: EspeakPhonemizer,
  text: string,
  config: VoiceConfig,
  missing?: Map<string, number>,
): Promise<MappedSentence[]> {
  const sentences = config.phoneme_type === "text" ? textPhonemes(text) : await phonemizer.phonemize(text, config.espeak.voice);
  return mapSentences(sentences, config, missing);
}
