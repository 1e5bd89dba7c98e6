/** Request traces for the simulation: engine switching, bursts, long texts. Seeded, repeatable. */

export interface TraceRequest {
  at: number;
  engine: string;
  chars: number;
}

export interface Workload {
  name: string;
  requests: TraceRequest[];
  /**
   * Memory other processes take on top of the card's base share, over time: `share` of what
   * the card leaves after the base (0..1). Absent: the others' share stays as it is.
   */
  others?: { at: number; share: number }[];
}

/** mulberry32: small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: T[]): T => xs[Math.floor(r() * xs.length)]!;

/** A user hopping between 4 engines: ~one request every 4 s, short texts. */
export function switching(seed = 1, n = 150): Workload {
  const r = rng(seed);
  const requests: TraceRequest[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += -Math.log(1 - r()) * 4000;
    requests.push({ at: Math.round(t), engine: pick(r, ["xtts", "mid", "piper", "espeak"]), chars: 80 + Math.floor(r() * 220) });
  }
  return { name: "switching", requests };
}

/** Bursts of 16 simultaneous requests across engines, a minute apart. */
export function bursts(seed = 2, count = 4): Workload {
  const r = rng(seed);
  const requests: TraceRequest[] = [];
  for (let b = 0; b < count; b++) {
    for (let i = 0; i < 16; i++)
      requests.push({ at: b * 60_000 + Math.floor(r() * 200), engine: pick(r, ["xtts", "xtts", "mid", "piper", "espeak"]), chars: 60 + Math.floor(r() * 140) });
  }
  return { name: "bursts", requests };
}

/** Long texts (2,000-4,000 characters) to the big engines, with short ones in between. */
export function longTexts(seed = 3, n = 24): Workload {
  const r = rng(seed);
  const requests: TraceRequest[] = [];
  for (let i = 0; i < n; i++) {
    const long = i % 2 === 0;
    requests.push({
      at: i * 15_000,
      engine: long ? pick(r, ["xtts", "mid"]) : pick(r, ["piper", "espeak", "mid"]),
      chars: long ? 2000 + Math.floor(r() * 2000) : 100 + Math.floor(r() * 100),
    });
  }
  return { name: "long texts", requests };
}

/**
 * A realistic desktop: a local LLM on the same card loads, grows its KV cache while it
 * answers, shrinks when the chat goes idle, and unloads; meanwhile the TTS mix of
 * `switching` arrives (a request every ~3 s). Its share goes from 0 up to 45 % of the card.
 */
export function llmDesktop(seed = 4, n = 120): Workload {
  const r = rng(seed);
  const requests: TraceRequest[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += -Math.log(1 - r()) * 3000;
    requests.push({ at: Math.round(t), engine: pick(r, ["xtts", "mid", "piper", "espeak"]), chars: 80 + Math.floor(r() * 300) });
  }
  const others: { at: number; share: number }[] = [];
  let at = 10_000;
  while (at < t) {
    // a chat: load (20 %), answers grow the cache in steps, then idle (10 %), sometimes unload
    others.push({ at, share: 0.2 });
    const steps = 2 + Math.floor(r() * 4);
    for (let s = 1; s <= steps; s++) others.push({ at: (at += 4000 + Math.floor(r() * 8000)), share: Math.min(0.45, 0.2 + s * 0.06) });
    others.push({ at: (at += 10_000 + Math.floor(r() * 10_000)), share: 0.1 });
    if (r() < 0.5) others.push({ at: (at += 15_000), share: 0 });
    at += 15_000 + Math.floor(r() * 20_000);
  }
  return { name: "desktop LLM", requests, others };
}
