/** AllTalk generation: filter, split for the narrator, speak each part with its voice, join. */
import type { SpeechPipeline } from "../../synth/pipeline.ts";
import { resampleLinear } from "../../audio/resample.ts";
import { filterText, type TextFiltering } from "../../text/filter.ts";
import { segmentNarration, type NarratorMode, type NotInside, type Segment } from "../../text/narrator.ts";
import { ChorusError } from "../../errors.ts";
import type { LeaseHold } from "../../synth/lease-hold.ts";

export interface GenerateRequest {
  text: string;
  filtering: TextFiltering;
  /** Engine of the character voice (and of the narrator's unless `narratorEngine`). */
  engine: string;
  characterVoice?: string;
  narratorVoice?: string;
  /** Engine of the narrator voice when it names another one (`flite:awb`). */
  narratorEngine?: string;
  narrator: NarratorMode;
  textNotInside: NotInside;
  speed?: number;
  pitch?: number;
  /** Engine options for the parts an engine speaks (AllTalk's `language`, the model chosen with /api/reload). */
  optionsFor?(engine: string): Record<string, unknown> | undefined;
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

type Generated = { sampleRate: number; chunks: Int16Array[]; engine: string; ignored: Set<"speed" | "pitch">; clamped: Partial<Record<"speed" | "pitch", number>> };

/**
 * Speaks every part in order; returns PCM at the first part's rate. Consecutive parts on the
 * same engine run under one lease (synth/lease-hold.ts): no queued request runs on that engine
 * between them, and a low-VRAM engine moves its model to the GPU once for all of them.
 */
export async function generateSpeech(pipeline: SpeechPipeline, req: GenerateRequest, signal: AbortSignal): Promise<Generated> {
  const segments = planSegments(req);
  if (segments.length === 0) throw new ChorusError("CHORUS_ERR_TEXT_EMPTY", "text_input has nothing to speak after filtering", { field: "text_input" });
  const hold = pipeline.holdLease();
  try {
    return await speakParts(pipeline, req, segments, hold, signal);
  } finally {
    hold.release();
  }
}

async function speakParts(pipeline: SpeechPipeline, req: GenerateRequest, segments: Segment[], hold: LeaseHold, signal: AbortSignal): Promise<Generated> {
  let sampleRate = 0;
  let engine = req.engine;
  const chunks: Int16Array[] = [];
  const ignored = new Set<"speed" | "pitch">();
  const clamped: Partial<Record<"speed" | "pitch", number>> = {};
  const narratingPart = (segment: Segment) => segment.role === "narrator" && (req.narratorVoice !== undefined || req.narratorEngine !== undefined);
  const engineOf = (segment: Segment) => (narratingPart(segment) ? (req.narratorEngine ?? req.engine) : req.engine);
  for (const [index, segment] of segments.entries()) {
    const narrating = narratingPart(segment);
    const voice = narrating ? req.narratorVoice : req.characterVoice;
    const segmentEngine = engineOf(segment);
    let stream;
    try {
      // `continues`: the next part goes to the same engine (a low-VRAM engine keeps its model on the GPU).
      const continues = index < segments.length - 1 && engineOf(segments[index + 1]!) === segmentEngine;
      stream = await pipeline.start({ text: segment.text, engine: segmentEngine, voice, speed: req.speed, pitch: req.pitch, options: req.optionsFor?.(segmentEngine), continues }, signal, hold);
    } catch (err) {
      if (err instanceof ChorusError && err.field === "voice") {
        throw new ChorusError(err.code, err.message, { field: narrating ? "narrator_voice_gen" : "character_voice_gen", cause: err });
      }
      throw err;
    }
    engine = stream.engineId;
    for (const field of stream.ignored ?? []) ignored.add(field);
    Object.assign(clamped, stream.clamped);
    if (!sampleRate) sampleRate = stream.sampleRate;
    for await (const c of stream.chunks) chunks.push(resampleLinear(c, stream.sampleRate, sampleRate));
  }
  return { sampleRate, chunks, engine, ignored, clamped };
}
