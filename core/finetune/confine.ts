/** Confinement of user-given paths to configured folders (finetune.datasetDirs, finetune.runner.modelDirs). */
import fs from "node:fs";
import path from "node:path";

/** Whether `file`'s real path (symlinks resolved) lies under one of `roots`. */
export function isInside(file: string, roots: string[]): boolean {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return false;
  }
  return roots.some((r) => real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
}
