/**
 * The placement chain of a request: the engine's own profiles in order, then its declared
 * fallbacks (`engine` = that engine's profiles in order, `engine:profile` = that one).
 * Fallbacks are not followed recursively, so chains cannot loop.
 */
import type { Manifest, PlacementProfile } from "../../packages/sdk/src/index.ts";

export interface Candidate {
  engineId: string;
  profile: PlacementProfile;
  /** `engine:profile` */
  key: string;
  /** One of the requested engine's own profiles (not a fallback). */
  own: boolean;
}

export const profileKey = (engineId: string, profile: string) => `${engineId}:${profile}`;

export interface ChainOptions {
  fallback: boolean;
  /** Engines in low-VRAM mode skip GPU profiles without transient memory (full residency). */
  lowVram(engineId: string): boolean;
  /** `engine:profile` keys to leave out (e.g. the one that just ran out of memory). */
  avoid?: ReadonlySet<string>;
}

function profilesOf(manifest: Manifest, lowVram: boolean): PlacementProfile[] {
  const all = manifest.resources.profiles;
  if (!lowVram) return all;
  const light = all.filter((p) => p.device !== "cuda" || p.transientVramMb > 0);
  return light.length ? light : all;
}

export function buildChain(engineId: string, manifestOf: (id: string) => Manifest | undefined, options: ChainOptions): Candidate[] {
  const manifest = manifestOf(engineId);
  if (!manifest) return [];
  const out: Candidate[] = [];
  const seen = new Set<string>();
  const add = (id: string, profile: PlacementProfile, own: boolean) => {
    const key = profileKey(id, profile.name);
    if (seen.has(key) || options.avoid?.has(key)) return;
    seen.add(key);
    out.push({ engineId: id, profile, key, own });
  };
  for (const p of profilesOf(manifest, options.lowVram(engineId))) add(engineId, p, true);
  if (!options.fallback) return out;
  for (const target of manifest.resources.fallbacks) {
    const [id, profileName] = target.split(":") as [string, string | undefined];
    if (id === engineId) {
      const p = profileName ? manifest.resources.profiles.find((x) => x.name === profileName) : undefined;
      if (p) add(id, p, true);
      continue;
    }
    const m = manifestOf(id);
    if (!m) continue;
    const profiles = profileName ? m.resources.profiles.filter((x) => x.name === profileName) : profilesOf(m, options.lowVram(id));
    for (const p of profiles) add(id, p, false);
  }
  return out;
}
