/**
 * Snapshots of accepted plugin generations. The catalogue runs a hot-swapped plugin from a
 * private copy of its folder, so that editing (or breaking) the folder later cannot change
 * what a reload of an already accepted generation runs. Small files are copied; large ones
 * (models) are hard-linked when the file system allows, copied otherwise; `node_modules` is
 * linked, not copied.
 */
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { EngineEntry } from "./plugin-folder.ts";

const LINK_ABOVE_BYTES = 4 * 1024 * 1024;
/** Never part of a plugin's code: Python's bytecode cache (an author's own test run writes it). */
const SKIP = new Set([".git", "__pycache__"]);

export function snapshotDir(root: string, id: string, generation: number): string {
  return path.join(root, id, `g${generation}`);
}

/**
 * Empties the snapshot area for a fresh watch. Snapshots may live outside the Chorus folder:
 * a `node_modules` link to the host's packages lets require() and import find them.
 */
export function resetSnapshotRoot(root: string, hostModules: string): void {
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  if (fs.existsSync(hostModules)) fs.symlinkSync(hostModules, path.join(root, "node_modules"), "dir");
}

/** The entry running from a snapshot of its folder (kept as is, running from its folder, when that fails). */
export function pinnedEntry(root: string, entry: EngineEntry & { status: "available" }, log: Logger): EngineEntry {
  const codeDir = snapshotDir(root, entry.id, entry.generation);
  try {
    takeSnapshot(entry.dir, codeDir);
    return { ...entry, codeDir };
  } catch (err) {
    log.warn({ plugin: entry.id, err, reason: "snapshot_failed" }, "plugin runs from its folder");
    return entry;
  }
}

/**
 * Copies the plugin folder `from` into `to` (which must not exist). Throws on I/O errors.
 * A plugin folder without its own package.json takes its module type from the folders above
 * it; the copy lives elsewhere (under `dataDir`, perhaps below some other package.json), so
 * it gets a package.json that keeps the original's type.
 */
export function takeSnapshot(from: string, to: string): void {
  copyTree(from, to);
  if (!fs.existsSync(path.join(from, "package.json"))) {
    fs.writeFileSync(path.join(to, "package.json"), `${JSON.stringify({ private: true, type: moduleType(path.dirname(from)) })}\n`);
  }
}

/** The module type of files in `dir`: the nearest package.json's "type"; plugins default to ES modules. */
function moduleType(dir: string): "module" | "commonjs" {
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      const type = (JSON.parse(fs.readFileSync(path.join(at, "package.json"), "utf8")) as { type?: unknown }).type;
      return type === "commonjs" ? "commonjs" : "module";
    } catch {
      if (path.dirname(at) === at) return "module";
    }
  }
}

function copyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const dirent of fs.readdirSync(from, { withFileTypes: true })) {
    if (SKIP.has(dirent.name)) continue;
    const src = path.join(from, dirent.name);
    const dst = path.join(to, dirent.name);
    if (dirent.name === "node_modules" && dirent.isDirectory()) {
      fs.symlinkSync(fs.realpathSync(src), dst, "dir");
    } else if (dirent.isDirectory()) {
      copyTree(src, dst);
    } else if (dirent.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(src), dst);
    } else if (dirent.isFile()) {
      copyFile(src, dst);
    }
  }
}

function copyFile(src: string, dst: string): void {
  if (fs.statSync(src).size > LINK_ABOVE_BYTES) {
    try {
      fs.linkSync(src, dst);
      return;
    } catch {
      // another file system: copy
    }
  }
  fs.copyFileSync(src, dst);
}

/** Removes the snapshots of `id` except those of the `keep` generations. */
export function pruneSnapshots(root: string, id: string, keep: number[]): void {
  const dir = path.join(root, id);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!/^g\d+$/.test(name)) continue;
    if (!keep.includes(Number(name.slice(1)))) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

/** Cheap identity of a folder's contents (paths, sizes, mtimes), to skip no-op events. */
export function fingerprint(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string, rel: string) => {
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of dirents.sort((a, b) => a.name.localeCompare(b.name))) {
      if (SKIP.has(e.name) || e.name === "node_modules") continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
      else {
        try {
          const s = fs.statSync(p);
          parts.push(`${rel}${e.name}:${s.size}:${s.mtimeMs}`);
        } catch {
          parts.push(`${rel}${e.name}:gone`);
        }
      }
    }
  };
  walk(dir, "");
  return parts.join("|");
}
