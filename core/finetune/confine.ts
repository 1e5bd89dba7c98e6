/** Confinement of user-given paths to configured folders (finetune.datasetDirs, finetune.runner.modelDirs). */
import fs from "node:fs";
import path from "node:path";

/** Whether the path `p`, as written (no symlinks resolved), is one of `roots` or below one. */
export function isUnder(p: string, roots: string[]): boolean {
  return roots.some((root) => {
    const r = root.length > 1 && root.endsWith(path.sep) ? root.slice(0, -1) : root;
    return p === r || p.startsWith(r.endsWith(path.sep) ? r : r + path.sep);
  });
}

/** Whether `file`'s real path (symlinks resolved) lies under one of `roots`; false when it does not exist. */
export function isInside(file: string, roots: string[]): boolean {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return false;
  }
  return isUnder(real, roots);
}
