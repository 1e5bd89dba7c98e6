/** AllTalk generation: filter, split for the narrator, speak each part with its voice, join. */
import type { SpeechPipeline } from "../../synth/pipeline.ts";
import { resampleLinear } from "../../audio/resample.ts";
import { filterText, type TextFiltering } from "../../text/filter.ts";
import { segmentNarration, type NarratorMode, type NotInside, type Segment } from "../../text/narrator.ts";
import { ChorusError } from "../../errors.ts";

export interface GenerateRequest {
  text: string;
  filtering: TextFiltering;
  engine: string;
  characterVoice?: string;
  narratorVoice?: string;
  narrator: NarratorMode;
  textNotInside: NotInside;
  speed?: number;
  pitch?: number;
  /** Engine options for every part (AllTalk's `language`, the model chosen with /api/reload). */
  options?: Record<string, unknown>;
}

/** The parts to speak; without the narrator, the filtered text as one character part. */
export function planSegments(req: Pick<GenerateRequest, "text" | "filtering" | "narrator" | "textNotInside">): Segment[] {
  const text = filterText(req.text, req.filtering);
  const usesMarkers = req.narrator !== false || req.textNotInside === "silent";
  if (!usesMarkers) {
    const plain = req.filtering === "none" ? text : text.replace(/\*/g, " ");
    return /[\p{L}\p{N}]/u.test(plain) ? [{ role: "character", text: plain }] : [];
  }
  return segmentNarration(text, { narrator: req.narrator, textNotInside: req.textNotInside });
}

/** Speaks every part in order; returns PCM at the first part's rate. */
export async function generateSpeech(pipeline: SpeechPipeline, req: GenerateRequest, signal: AbortSignal): Promise<{ sampleRate: number; chunks: Int16Array[]; engine: string }> {
  const segments = planSegments(req);
  if (segments.length === 0) throw new ChorusError("CHORUS_ERR_TEXT_EMPTY", "text_input has nothing to speak after filtering", { field: "text_input" });
  let sampleRate = 0;
  let engine = req.engine;
  const chunks: Int16Array[] = [];
  for (const [index, segment] of segments.entries()) {
    const voice = segment.role === "narrator" ? (req.narratorVoice ?? req.characterVoice) : req.characterVoice;
    let stream;
    try {
      stream = await pipeline.start({ text: segment.text, engine: req.engine, voice, speed: req.speed, pitch: req.pitch, options: req.options, continues: index < segments.length - 1 }, signal);
    } catch (err) {
      if (err instanceof ChorusError && err.field === "voice") {
        throw new ChorusError(err.code, err.message, { field: segment.role === "narrator" && req.narratorVoice ? "narrator_voice_gen" : "character_voice_gen", cause: err });
      }
      throw err;
    }
    engine = stream.engineId;
    if (!sampleRate) sampleRate = stream.sampleRate;
    for await (const c of stream.chunks) chunks.push(resampleLinear(c, stream.sampleRate, sampleRate));
  }
  return { sampleRate, chunks, engine };
}
