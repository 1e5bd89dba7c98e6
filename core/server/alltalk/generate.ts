/** AllTalk generation: filter, split for the narrator, speak each part with its voice, join. */
import type { AudioChunk } from "../../../packages/sdk/src/index.ts";
import { SEMITONES } from "../../request/names.ts";
import { validateSpeech, type SpeechRequest, type TextLimits } from "../../request/speech-request.ts";
import type { SpeechPipeline } from "../../synth/pipeline.ts";
import { filterText, type TextFiltering } from "../../text/filter.ts";
import { segmentNarration, type NarratorMode, type NotInside, type Segment } from "../../text/narrator.ts";
import { ChorusError } from "../../errors.ts";
import type { LeaseHold } from "../../synth/lease-hold.ts";
import { engineErrorOfVoice } from "../../voices/reference.ts";

export interface GenerateRequest {
  text: string;
  filtering: TextFiltering;
  /** Engine of the character voice (and of the narrator's unless `narratorEngine`). */
  engine: string;
  characterVoice?: string;
  narratorVoice?: string;
  /** Engine of the narrator voice when it names another one (`flite:awb`). */
  narratorEngine?: string;
  /** The character voice named `engine` (`flite:slt`; VoiceTarget.engineFromVoice): that engine's errors name the voice field. */
  engineFromVoice?: boolean;
  /** The narrator voice named `narratorEngine` (`flite:awb`; VoiceTarget.engineFromVoice): likewise. */
  narratorEngineFromVoice?: boolean;
  narrator: NarratorMode;
  textNotInside: NotInside;
  speed?: number;
  /** A frequency factor (AllTalk's semitones st arrive as 2^(st/12); errors say semitones). */
  pitch?: number;
  /** The host's text limits (config `text`): every part is validated against them. */
  limits: TextLimits;
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

type Generated = {
  sampleRate: number;
  chunks: AudioChunk[];
  engine: string;
  ignored: Set<"speed" | "pitch">;
  clamped: Partial<Record<"speed" | "pitch", number>>;
};

/** A part to speak: a request of its own, validated with AllTalk's field names before any part is spoken. */
interface Part {
  request: SpeechRequest;
  narrating: boolean;
}

/**
 * Speaks every part in order; returns the parts' chunks (each at its engine's rate; the
 * output stage brings them to the first part's rate) and the first part's rate. Consecutive
 * parts on the same engine run under one lease (synth/lease-hold.ts): no queued request runs
 * on that engine between them, and a low-VRAM engine moves its model to the GPU once for all.
 */
export async function generateSpeech(pipeline: SpeechPipeline, req: GenerateRequest, signal: AbortSignal): Promise<Generated> {
  const segments = planSegments(req);
  if (segments.length === 0) throw new ChorusError("CHORUS_ERR_TEXT_EMPTY", "text_input has nothing to speak after filtering", { field: "text_input" });
  const parts = validatedParts(req, segments);
  const hold = pipeline.holdLease();
  try {
    return await speakParts(pipeline, req, parts, hold, signal);
  } finally {
    hold.release();
  }
}

function validatedParts(req: GenerateRequest, segments: Segment[]): Part[] {
  const narratingPart = (segment: Segment) => segment.role === "narrator" && (req.narratorVoice !== undefined || req.narratorEngine !== undefined);
  const engineOf = (segment: Segment) => (narratingPart(segment) ? (req.narratorEngine ?? req.engine) : req.engine);
  return segments.map((segment, index) => {
    const narrating = narratingPart(segment);
    const engine = engineOf(segment);
    // `continues`: the next part goes to the same engine (a low-VRAM engine keeps its model on the GPU).
    const continues = index < segments.length - 1 && engineOf(segments[index + 1]!) === engine;
    const names = { text: "text_input", voice: narrating ? "narrator_voice_gen" : "character_voice_gen", pitch: { name: "pitch", ...SEMITONES } };
    const fields = {
      text: segment.text,
      engine,
      voice: narrating ? req.narratorVoice : req.characterVoice,
      speed: req.speed,
      pitch: req.pitch,
      options: req.optionsFor?.(engine),
      continues,
      format: "wav",
    };
    return { request: validateSpeech(fields, req.limits, names), narrating };
  });
}

async function speakParts(pipeline: SpeechPipeline, req: GenerateRequest, parts: Part[], hold: LeaseHold, signal: AbortSignal): Promise<Generated> {
  let sampleRate = 0;
  let engine = req.engine;
  const chunks: AudioChunk[] = [];
  const ignored = new Set<"speed" | "pitch">();
  const clamped: Partial<Record<"speed" | "pitch", number>> = {};
  for (const { request, narrating } of parts) {
    let stream;
    try {
      stream = await pipeline.start(request, signal, hold);
    } catch (err) {
      const voiceField = narrating ? "narrator_voice_gen" : "character_voice_gen";
      if (err instanceof ChorusError && err.field === "voice") throw new ChorusError(err.code, err.message, { field: voiceField, cause: err });
      // an engine the client named only by `engine:voice`
      throw engineErrorOfVoice(err, { engineFromVoice: narrating ? req.narratorEngineFromVoice : req.engineFromVoice }, voiceField);
    }
    engine = stream.engineId;
    for (const field of stream.ignored ?? []) ignored.add(field);
    Object.assign(clamped, stream.clamped);
    if (!sampleRate) sampleRate = stream.sampleRate;
    for await (const c of stream.chunks) chunks.push(c);
  }
  return { sampleRate, chunks, engine, ignored, clamped };
}
