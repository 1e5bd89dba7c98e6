/**
 * One audio group on the wire: `audio-start`, `audio-chunk`s of exactly `samplesPerChunk`
 * samples (the last may be shorter), each carrying rate, width and channels, then
 * `audio-stop`. The output stage brings the PCM to the group's rate (audio/output).
 */
import { pcmAt, type SpeechAudio } from "../audio/output/index.ts";

export type Send = (type: string, data?: Record<string, unknown>, payload?: Uint8Array) => Promise<void>;

export const WIDTH = 2;
export const CHANNELS = 1;

export interface GroupResult {
  samples: number;
  chunks: number;
}

/**
 * Sends the speech's audio as chunks at `rate`. Returns what was sent; `audio-stop` is the
 * caller's, so that an error can come before it.
 */
export async function sendChunks(send: Send, speech: SpeechAudio, rate: number, samplesPerChunk: number): Promise<GroupResult> {
  const format = { rate, width: WIDTH, channels: CHANNELS };
  let pending = new Int16Array(samplesPerChunk);
  let filled = 0;
  let sent = 0;
  let chunks = 0;
  const flush = async () => {
    if (!filled) return;
    const payload = new Uint8Array(pending.buffer, 0, filled * WIDTH);
    await send("audio-chunk", { ...format, timestamp: Math.round((sent * 1000) / rate) }, payload);
    sent += filled;
    chunks++;
    pending = new Int16Array(samplesPerChunk);
    filled = 0;
  };
  for await (const samples of pcmAt(speech, rate)) {
    let offset = 0;
    while (offset < samples.length) {
      const n = Math.min(samplesPerChunk - filled, samples.length - offset);
      pending.set(samples.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === samplesPerChunk) await flush();
    }
  }
  await flush();
  return { samples: sent, chunks };
}

export function audioStart(rate: number): Record<string, unknown> {
  return { rate, width: WIDTH, channels: CHANNELS, timestamp: 0 };
}
