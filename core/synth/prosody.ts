/**
 * Speed and pitch as an engine gets them. The request's range (factors 0.25-4, pitch two
 * octaves either way; AllTalk's semitones s arrive as 2^(s/12)) is checked once, by the
 * request validator (request/speech-request.ts). The engine's manifest decides what reaches it: an engine
 * that does not declare `capabilities.speed`/`pitch` gets 1 and the response says the value
 * was ignored (X-Chorus-Ignored); one that declares a `speedRange`/`pitchRange` gets the value
 * clamped to it and the response says so (X-Chorus-Clamped).
 */
import type { Manifest } from "../../packages/sdk/src/index.ts";

export interface Prosody {
  speed: number;
  pitch: number;
  /** Fields the engine does not support (sent as 1). */
  ignored: ("speed" | "pitch")[];
  /** Fields clamped to the engine's range, with the value used. */
  clamped: Partial<Record<"speed" | "pitch", number>>;
}

/** What the engine behind `manifest` gets for the requested speed and pitch. */
export function prosodyFor(manifest: Pick<Manifest, "capabilities">, requested: { speed?: number; pitch?: number }): Prosody {
  const out: Prosody = { speed: 1, pitch: 1, ignored: [], clamped: {} };
  for (const field of ["speed", "pitch"] as const) {
    const value = requested[field];
    if (value === undefined || value === 1) continue;
    if (!manifest.capabilities[field]) {
      out.ignored.push(field);
      continue;
    }
    const range = manifest.capabilities[field === "speed" ? "speedRange" : "pitchRange"];
    const used = range ? Math.min(range[1], Math.max(range[0], value)) : value;
    if (used !== value) out.clamped[field] = used;
    out[field] = used;
  }
  return out;
}

/** Response headers for a Prosody: `X-Chorus-Ignored: pitch`, `X-Chorus-Clamped: pitch=2`. */
export function prosodyHeaders(p: Pick<Prosody, "ignored" | "clamped">): Record<string, string> {
  const headers: Record<string, string> = {};
  if (p.ignored.length) headers["X-Chorus-Ignored"] = p.ignored.join(", ");
  const clamped = Object.entries(p.clamped).map(([k, v]) => `${k}=${Number(v.toFixed(3))}`);
  if (clamped.length) headers["X-Chorus-Clamped"] = clamped.join(", ");
  return headers;
}
