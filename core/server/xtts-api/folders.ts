/**
 * The folders the xtts-api-server routes may touch, and paths confined to them. Clients name
 * folders and files (`/set_speaker_folder`, `/set_output`, `/tts_to_file`, `/sample/...`);
 * Chorus never reads or writes outside the configured folders: a path is resolved (symlinks
 * too) and refused unless it lies inside its root. `..` segments are refused outright.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { CHORUS_ROOT, resolvePath } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import { ChorusError } from "../../errors.ts";

export interface FolderRoots {
  /** Configured roots; the current folders are always inside them. */
  speakerRoot: string;
  outputRoot: string;
  modelRoot: string;
}

export function folderRoots(config: Config): FolderRoots {
  const x = config.compat.xttsApi;
  return {
    speakerRoot: resolvePath(x.speakerFolder),
    outputRoot: path.resolve(CHORUS_ROOT, config.dataDir, x.outputFolder),
    modelRoot: resolvePath(x.modelFolder),
  };
}

/** True when `child` is `root` or below it (both absolute, normalised). */
export function isInside(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** `..` as a path segment (either separator). */
export function hasDotDot(p: string): boolean {
  return p.split(/[\\/]+/).includes("..");
}

/** The real path of the deepest existing ancestor of `p`, with the rest appended. */
async function realish(p: string): Promise<string> {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return path.join(await fs.realpath(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return p;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

/**
 * `requested` (relative to `base`, or absolute) as an absolute path inside `root`, checked on
 * the real file system (a symlink inside pointing outside is refused). Throws 400 otherwise.
 */
export async function confine(root: string, base: string, requested: string, what: string): Promise<string> {
  if (requested.includes("\0")) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${what}: invalid path`, { field: what });
  if (hasDotDot(requested)) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${what}: '..' is not allowed in paths`, { field: what });
  const full = path.resolve(base, requested);
  const [realRoot, realFull] = await Promise.all([realish(root), realish(full)]);
  if (!isInside(realRoot, realFull))
    throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${what}: '${requested}' is outside the configured folder ${root} (compat.xttsApi)`, { field: what });
  return full;
}

/** A folder inside `root` that exists (400 "Provided path is not a valid directory" otherwise). */
export async function confineDirectory(root: string, base: string, requested: string, what: string): Promise<string> {
  const dir = await confine(root, base, requested, what);
  const st = await fs.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", "Provided path is not a valid directory", { field: what });
  return dir;
}

/** Names of the sub-folders of `dir` (none when it does not exist), sorted. */
export async function subfolders(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
}
