/**
 * AllTalk output files: sanitised names inside one outputs folder, and retention by age and
 * total size. A requested name never leaves the folder: only its last path component is used,
 * reduced to `[A-Za-z0-9_-]`, so `../../etc/passwd` becomes `passwd` and `/abs` becomes `abs`.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";

export const DEFAULT_OUTPUT_NAME = "chorus_output";

/** A safe base name (no extension, no path) for a requested output file name. */
export function sanitizeOutputName(requested: string | undefined): string {
  const last = (requested ?? "").split(/[\\/]/).pop() ?? "";
  const stem = last.replace(/\.(wav|mp3|ogg|opus|flac|aac)$/i, "");
  const clean = stem
    .replace(/[^A-Za-z0-9_-]+/g, "_")
    .replace(/^[_-]+|[_]+$/g, "")
    .slice(0, 80);
  return clean || DEFAULT_OUTPUT_NAME;
}

/** `name_YYYYMMDD-HHMMSS_xxxx.wav` with a timestamp, else `name.wav`. */
export function outputFileName(requested: string | undefined, timestamp: boolean, now = new Date()): string {
  const base = sanitizeOutputName(requested);
  if (!timestamp) return `${base}.wav`;
  const pad = (n: number) => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `${base}_${stamp}_${randomBytes(3).toString("hex")}.wav`;
}

/** True for names `outputFileName` can produce; anything else is refused when serving. */
export function isServableName(name: string): boolean {
  return /^[A-Za-z0-9_-]{1,120}\.wav$/.test(name);
}

/** Resolves a servable name inside `dir`, or undefined. */
export function resolveInside(dir: string, name: string): string | undefined {
  if (!isServableName(name)) return undefined;
  const full = path.resolve(dir, name);
  return path.dirname(full) === path.resolve(dir) ? full : undefined;
}

export interface Retention {
  maxAgeMinutes: number;
  maxTotalMb: number;
}

/** Deletes files older than the limit, then the oldest while the folder is over its size. */
export async function applyRetention(dir: string, retention: Retention, keep?: string, now = Date.now()): Promise<{ deleted: string[] }> {
  const deleted: string[] = [];
  let entries: { name: string; size: number; mtime: number }[] = [];
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!isServableName(name)) continue;
    const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
    if (st?.isFile()) entries.push({ name, size: st.size, mtime: st.mtimeMs });
  }
  const remove = async (name: string) => {
    await fs.rm(path.join(dir, name), { force: true });
    deleted.push(name);
  };
  if (retention.maxAgeMinutes > 0) {
    const cutoff = now - retention.maxAgeMinutes * 60_000;
    for (const e of entries) if (e.mtime < cutoff && e.name !== keep) await remove(e.name);
    entries = entries.filter((e) => !deleted.includes(e.name));
  }
  const limit = retention.maxTotalMb * 1024 * 1024;
  let total = entries.reduce((n, e) => n + e.size, 0);
  for (const e of entries.sort((a, b) => a.mtime - b.mtime)) {
    if (total <= limit) break;
    if (e.name === keep) continue;
    await remove(e.name);
    total -= e.size;
  }
  return { deleted };
}
