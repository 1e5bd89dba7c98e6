/** Linear-interpolation resampling, used only when one response mixes sample rates. */
export function resampleLinear(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to || samples.length === 0) return samples;
  const length = Math.max(1, Math.round((samples.length * to) / from));
  const out = new Int16Array(length);
  const step = from / to;
  for (let i = 0; i < length; i++) {
    const pos = i * step;
    const left = Math.floor(pos);
    const right = Math.min(left + 1, samples.length - 1);
    const frac = pos - left;
    out[i] = Math.round(samples[Math.min(left, samples.length - 1)]! * (1 - frac) + samples[right]! * frac);
  }
  return out;
}
