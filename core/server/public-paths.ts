/**
 * Paths as public listings show them: relative to the Chorus folder (`engines/espeak`), or
 * to the configured folder they came from (`<engines.dirs[1]>/tone`, `<dataDir>/plugins/...`),
 * never absolute: an absolute path tells a remote reader the user's name and layout.
 */
import path from "node:path";
import { CHORUS_ROOT, resolvePath } from "../config/load.ts";
import type { Config } from "../config/schema.ts";

/** Folders (absolute) and the name they are shown under, longest first. */
export function publicRoots(config: Pick<Config, "engines" | "dataDir">): [string, string][] {
  const roots: [string, string][] = config.engines.dirs.map((d, i) => [resolvePath(d), `<engines.dirs[${i}]>`]);
  roots.push([resolvePath(config.dataDir), "<dataDir>"]);
  return roots.filter(([abs]) => abs !== CHORUS_ROOT && !abs.startsWith(CHORUS_ROOT + path.sep)).sort((a, b) => b[0].length - a[0].length);
}

export function publicPath(p: string, roots: [string, string][]): string {
  const abs = path.resolve(p);
  if (abs === CHORUS_ROOT || abs.startsWith(CHORUS_ROOT + path.sep)) return path.relative(CHORUS_ROOT, abs) || ".";
  for (const [base, name] of roots) if (abs === base || abs.startsWith(base + path.sep)) return path.join(name, path.relative(base, abs));
  return `…/${path.basename(abs)}`;
}

/** `text` with the absolute paths under the known folders (and the Chorus folder) made public. */
export function scrubPaths(text: string, roots: [string, string][]): string {
  let out = text;
  for (const [base, name] of [...roots, [CHORUS_ROOT, "."] as [string, string]]) out = out.split(base + path.sep).join(`${name}/`);
  return out;
}
