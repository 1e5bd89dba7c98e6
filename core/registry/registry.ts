/**
 * The engine registry: finds every engine folder (one `plugin.json` each) under the configured
 * folders, validates manifests before any plugin code runs, and starts engine instances in
 * their own worker. A broken plugin is recorded with its reason and never stops the others.
 */
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { inject, injectable } from "../di.ts";
import type { Config } from "../config/schema.ts";
import { resolvePath } from "../config/load.ts";
import { ManifestSchema, describeZodIssues, type Manifest, type PlacementProfile } from "../sdk/manifest.ts";
import { TOKENS } from "../tokens.ts";
import { EngineHost } from "./engine-host.ts";

export const MANIFEST_FILE = "plugin.json";

/**
 * One engine folder as last read. `generation` grows each time the folder is (re)read, so a
 * loaded instance can tell that it is stale and must be replaced after it drains.
 */
export type EngineEntry =
  | { id: string; dir: string; generation: number; status: "available"; manifest: Manifest }
  | { id: string; dir: string; generation: number; status: "failed"; error: string; manifest?: Manifest };

let generations = 0;

/** Reads and validates one plugin folder's manifest, never throwing. */
export function readPluginFolder(dir: string): EngineEntry {
  const generation = ++generations;
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
    const id = typeof (raw as { id?: unknown })?.id === "string" ? (raw as { id: string }).id : fallbackId;
    return { id, dir, generation, status: "failed", error: `invalid ${MANIFEST_FILE}: ${describeZodIssues(parsed.error).join("; ")}` };
  }
  const manifest = parsed.data;
  if (manifest.sdk !== "1") {
    return { id: manifest.id, dir, generation, status: "failed", manifest, error: `needs SDK major ${manifest.sdk}; this host implements 1` };
  }
  const entry = path.resolve(dir, manifest.entry);
  if (!entry.startsWith(path.resolve(dir) + path.sep) || !fs.existsSync(entry)) {
    return { id: manifest.id, dir, generation, status: "failed", manifest, error: `entry '${manifest.entry}' not found in the plugin folder` };
  }
  return { id: manifest.id, dir, generation, status: "available", manifest };
}

@injectable()
export class Registry {
  private entries = new Map<string, EngineEntry>();
  private readonly log: Logger;

  constructor(
    @inject(TOKENS.Config) private readonly config: Config,
    @inject(TOKENS.Logger) log: Logger,
  ) {
    this.log = log.child({ component: "registry" });
  }

  /** (Re)discovers all engine folders. */
  scan(): EngineEntry[] {
    const found = new Map<string, EngineEntry>();
    for (const root of this.config.engines.dirs.map(resolvePath)) {
      let names: string[];
      try {
        names = fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith(".")).map((d) => d.name);
      } catch {
        continue; // a missing plugins folder is fine
      }
      for (const name of names.sort()) {
        const entry = readPluginFolder(path.join(root, name));
        const existing = found.get(entry.id);
        if (existing) {
          found.set(`${entry.id}@${entry.dir}`, { id: entry.id, dir: entry.dir, generation: entry.generation, status: "failed", error: `duplicate engine id '${entry.id}', already provided by ${existing.dir}` });
          continue;
        }
        found.set(entry.id, entry);
      }
    }
    this.entries = found;
    for (const entry of found.values()) {
      if (entry.status === "failed") this.log.warn({ plugin: entry.id, dir: entry.dir, reason: entry.error }, "plugin rejected");
      else this.log.debug({ plugin: entry.id, version: entry.manifest.version }, "plugin found");
    }
    return this.list();
  }

  list(): EngineEntry[] {
    return [...this.entries.values()];
  }

  /** The usable engine with this id, if any. */
  get(id: string): EngineEntry | undefined {
    return this.entries.get(id);
  }

  manifest(id: string): Manifest | undefined {
    const entry = this.entries.get(id);
    return entry?.status === "available" ? entry.manifest : undefined;
  }

  /** Starts a fresh instance of engine `id` in its own worker and loads it with `profile`. */
  async startEngine(id: string, profile: PlacementProfile, simulated = false): Promise<EngineHost> {
    const entry = this.entries.get(id);
    if (!entry || entry.status !== "available") throw new Error(`engine '${id}' is not available`);
    const host = new EngineHost({
      manifest: entry.manifest,
      pluginDir: entry.dir,
      log: this.log.child({ plugin: id }),
      bootTimeoutMs: this.config.engines.startTimeoutSeconds * 1000,
    });
    await host.start();
    try {
      const dataDir = path.join(resolvePath(this.config.dataDir), "engines", id);
      fs.mkdirSync(dataDir, { recursive: true });
      await host.load({ profile, simulated, pluginDir: entry.dir, settings: this.config.engines.settings[id] ?? {}, dataDir });
    } catch (err) {
      await host.terminate();
      throw err;
    }
    return host;
  }
}
