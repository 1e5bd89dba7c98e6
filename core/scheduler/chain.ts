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
  /** False for a profile that cannot run here (a Python module it `requires` does not import). */
  offered?(engineId: string, profile: PlacementProfile): boolean;
  /** A profile to try first for this engine (e.g. AllTalk's DeepSpeed toggle). */
  preferred?(engineId: string): string | undefined;
}

function profilesOf(manifest: Manifest, lowVram: boolean, options: ChainOptions): PlacementProfile[] {
  const all = manifest.resources.profiles.filter((p) => options.offered?.(manifest.id, p) ?? true);
  const first = options.preferred?.(manifest.id);
  const ordered = first ? [...all.filter((p) => p.name === first), ...all.filter((p) => p.name !== first)] : all;
  if (!lowVram) return ordered;
  const light = ordered.filter((p) => p.device !== "cuda" || p.transientVramMb > 0);
  return light.length ? light : ordered;
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
  for (const p of profilesOf(manifest, options.lowVram(engineId), options)) add(engineId, p, true);
  if (!options.fallback) return out;
  for (const target of manifest.resources.fallbacks) {
    const [id, profileName] = target.split(":") as [string, string | undefined];
    if (id === engineId) {
      const p = profileName ? manifest.resources.profiles.find((x) => x.name === profileName) : undefined;
      if (p && (options.offered?.(id, p) ?? true)) add(id, p, true);
      continue;
    }
    const m = manifestOf(id);
    if (!m) continue;
    const profiles = profileName
      ? m.resources.profiles.filter((x) => x.name === profileName && (options.offered?.(id, x) ?? true))
      : profilesOf(m, options.lowVram(id), options);
    for (const p of profiles) add(id, p, false);
  }
  return out;
}
