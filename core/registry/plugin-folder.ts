/**
 * One plugin folder, read and validated without running any of its code: `plugin.json`
 * parsed against the ManifestSchema, its `sdk` range checked against this host's SDK version,
 * the entry module found, and (given the configuration's settings) the engine's settings
 * validated against the manifest's `settings` schema.
 */
import fs from "node:fs";
import path from "node:path";
import semver from "semver";
import { SDK_VERSION, type Manifest } from "../../packages/sdk/src/index.ts";
import { validateSettings } from "./settings.ts";
import { ManifestSchema, describeZodIssues } from "./manifest-schema.ts";

export const MANIFEST_FILE = "plugin.json";

/**
 * One engine folder as last read. `generation` grows each time a folder is accepted, so a
 * loaded instance can tell that it is stale and must be replaced after it drains.
 * An available entry may carry `error`: a newer version of its folder was rejected and this
 * (previous good) generation keeps serving. `codeDir`, when set, is the snapshot the engine
 * runs from, so that a broken edit of the folder cannot reach a reload of this generation.
 */
export type EngineEntry =
  | {
      id: string;
      dir: string;
      generation: number;
      status: "available";
      manifest: Manifest;
      /** The engine's settings, validated, defaults applied. */
      settings: Record<string, unknown>;
      codeDir?: string;
      error?: string;
    }
  | {
      id: string;
      dir: string;
      generation: number;
      status: "failed";
      error: string;
      manifest?: Manifest;
      /** The `version` an invalid manifest claims, to name it in a rejection. */
      version?: string;
    };

let generations = 0;

/** The next generation number (process-wide, strictly increasing). */
export function nextGeneration(): number {
  return ++generations;
}

/** The configured settings of engine `id` (`engines.settings`), for validation at read. */
export type SettingsLookup = (id: string) => Record<string, unknown> | undefined;

/** Reads and validates one plugin folder's manifest (and the engine's settings), never throwing. */
export function readPluginFolder(dir: string, settingsOf: SettingsLookup = () => undefined): EngineEntry {
  const generation = nextGeneration();
  const fallbackId = path.basename(dir);
  const file = path.join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? `no ${MANIFEST_FILE}` : `${MANIFEST_FILE}: ${(err as Error).message}`;
    return { id: fallbackId, dir, generation, status: "failed", error: reason };
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const { id: rawId, version } = (raw ?? {}) as { id?: unknown; version?: unknown };
    const id = typeof rawId === "string" ? rawId : fallbackId;
    const error = `invalid ${MANIFEST_FILE}: ${describeZodIssues(parsed.error).join("; ")}`;
    return { id, dir, generation, status: "failed", error, ...(typeof version === "string" ? { version } : {}) };
  }
  // A Python engine always runs in a child process, whatever `isolation` says.
  const manifest = parsed.data.runtime === "python" ? { ...parsed.data, isolation: "process" as const } : parsed.data;
  if (!semver.satisfies(SDK_VERSION, manifest.sdk)) {
    return { id: manifest.id, dir, generation, status: "failed", manifest, error: `needs SDK ${manifest.sdk}; this host's SDK is ${SDK_VERSION}` };
  }
  const entry = path.resolve(dir, manifest.entry);
  if (!entry.startsWith(path.resolve(dir) + path.sep) || !fs.existsSync(entry)) {
    return { id: manifest.id, dir, generation, status: "failed", manifest, error: `entry '${manifest.entry}' not found in the plugin folder` };
  }
  const settings = validateSettings(manifest, settingsOf(manifest.id));
  if (!settings.ok) return { id: manifest.id, dir, generation, status: "failed", manifest, error: settings.error };
  return { id: manifest.id, dir, generation, status: "available", manifest, settings: settings.settings };
}

/** The problems to show for an entry (the rejection of a newer version included). */
export function entryErrors(entry: EngineEntry): string[] {
  return entry.error ? [entry.error] : [];
}

/** Plugin folders under one root, sorted (a missing root has none). */
export function pluginFolders(root: string): string[] {
  try {
    return fs
      .readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith("."))
      .map((d) => path.join(root, d.name))
      .sort();
  } catch {
    return []; // a missing plugins folder is fine
  }
}

export function keyFor(entries: Map<string, EngineEntry>, entry: EngineEntry): string {
  const owner = entries.get(entry.id);
  return owner && owner.dir !== entry.dir ? `${entry.id}@${entry.dir}` : entry.id;
}

/** The entry, or a failed one when another folder already provides its id. */
export function duplicateChecked(entries: Map<string, EngineEntry>, entry: EngineEntry): EngineEntry {
  const owner = entries.get(entry.id);
  if (!owner || owner.dir === entry.dir) return entry;
  return {
    id: entry.id,
    dir: entry.dir,
    generation: entry.generation,
    status: "failed",
    error: `duplicate engine id '${entry.id}', already provided by ${owner.dir}`,
  };
}

/** Every engine folder under `roots`, read: keyed by engine id, a folder repeating a taken id keyed `id@dir`. */
export function scanFolders(roots: string[], settingsOf: SettingsLookup): Map<string, EngineEntry> {
  const found = new Map<string, EngineEntry>();
  for (const root of roots) {
    for (const dir of pluginFolders(root)) {
      const entry = readPluginFolder(dir, settingsOf);
      found.set(keyFor(found, entry), duplicateChecked(found, entry));
    }
  }
  return found;
}
