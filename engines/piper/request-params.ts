/**
 * A request's Piper parameters: the speaker (by id or by name from `speaker_id_map`), the
 * inference scales (voice defaults, overridden per request; `speed` divides length_scale as
 * Piper does) and the silence between sentences.
 */
import { BadOptionError, type SynthesisRequest } from "chorus/sdk";
import type { Scales } from "./onnx-voice.ts";
import type { VoiceConfig } from "./voice-config.ts";

export interface PiperParams {
  speakerId: number;
  scales: Scales;
  sentenceSilenceSeconds: number;
}

const badOption = (name: string, message: string) => new BadOptionError(name, message);

/** Speaker id from `options.speakerId` (number) or `options.speaker` (name or decimal id). */
export function resolveSpeaker(voiceId: string, config: VoiceConfig, options: Record<string, unknown>): number {
  const names = Object.keys(config.speaker_id_map);
  const describe = () =>
    config.num_speakers > 1
      ? `voice '${voiceId}' has speakers 0-${config.num_speakers - 1}${names.length ? ` (${names.slice(0, 20).join(", ")}${names.length > 20 ? ", ..." : ""})` : ""}`
      : `voice '${voiceId}' has a single speaker`;
  let byId: number | undefined;
  if (options.speakerId !== undefined) {
    const id = options.speakerId;
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) throw badOption("speakerId", "must be a non-negative integer");
    if (id >= config.num_speakers) throw badOption("speakerId", `speaker ${id} is out of range: ${describe()}`);
    byId = id;
  }
  let byName: number | undefined;
  if (options.speaker !== undefined && options.speaker !== "") {
    const wanted = String(options.speaker);
    const exact = config.speaker_id_map[wanted];
    const folded = Object.entries(config.speaker_id_map).find(([name]) => name.toLowerCase() === wanted.toLowerCase())?.[1];
    if (exact !== undefined) byName = exact;
    else if (folded !== undefined) byName = folded;
    else if (/^\d+$/.test(wanted)) {
      byName = Number(wanted);
      if (byName >= config.num_speakers) throw badOption("speaker", `speaker ${byName} is out of range: ${describe()}`);
    } else throw badOption("speaker", `unknown speaker '${wanted}': ${describe()}`);
  }
  if (byId !== undefined && byName !== undefined && byId !== byName) {
    throw badOption("speaker", `names speaker ${byName} but options.speakerId is ${byId}`);
  }
  return byId ?? byName ?? 0;
}

function numberOption(options: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw badOption(name, `must be a number from ${min} to ${max}`);
  }
  return value;
}

export function requestParams(request: SynthesisRequest, config: VoiceConfig, defaultSilence: number): PiperParams {
  const options = request.options ?? {};
  const speed = request.speed > 0 && Number.isFinite(request.speed) ? request.speed : 1;
  const baseLength = numberOption(options, "lengthScale", config.inference.length_scale, 0.05, 20);
  return {
    speakerId: resolveSpeaker(request.voice, config, options),
    scales: {
      noiseScale: numberOption(options, "noiseScale", config.inference.noise_scale, 0, 2),
      lengthScale: baseLength / speed,
      noiseW: numberOption(options, "noiseW", config.inference.noise_w, 0, 2),
    },
    sentenceSilenceSeconds: numberOption(options, "sentenceSilence", defaultSilence, 0, 10),
  };
}
