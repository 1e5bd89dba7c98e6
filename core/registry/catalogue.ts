/**
 * The plugin catalogue: finds every engine folder (one `plugin.json` each) under the configured
 * folders and validates manifests before any plugin code runs. A broken plugin is recorded with
 * its reason and never stops the others. Starting instances is the launcher's job (launcher.ts).
 *
 * Hot swap (`watch()`): a changed folder is re-read, snapshotted and trial-booted (its code
 * imported and `create` run in a throwaway worker, kept warm as a spare for the launcher); only
 * then does it replace the entry, as a new, higher `generation`. The scheduler retires instances
 * whose generation is no longer `get(id).generation` once they drain. A version that fails any
 * of this never replaces a good one: the previous generation keeps serving and the entry carries
 * the error. A removed folder's entry disappears. Which generations are kept (and their snapshots)
 * is generations.ts; reading one folder is plugin-folder.ts.
 */
import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config/schema.ts";
import { CHORUS_ROOT, resolvePath } from "../config/load.ts";
import type { Manifest } from "../../packages/sdk/src/index.ts";
import { OutOfMemoryError } from "../../packages/sdk/src/index.ts";
import type { EngineHost } from "./engine-host.ts";
import { duplicateChecked, entryErrors, readPluginFolder, scanFolders, type EngineEntry } from "./plugin-folder.ts";
import { Generations, rejectedEntry } from "./generations.ts";
import { fingerprint, pinnedEntry, resetSnapshotRoot } from "./snapshot.ts";
import { Spares, trialCandidate } from "./trial-boot.ts";
import { PluginWatcher } from "./watcher.ts";
import { engineCommand, envsRoot, needsSetup, type NeedsSetup } from "../python/index.ts";

/** Emitted as "change" whenever an entry is added, replaced, rejected, demoted or removed. */
export interface RegistryChange {
  id: string;
  kind: "added" | "updated" | "rejected" | "demoted" | "removed";
  generation?: number;
  error?: string;
}

export class PluginCatalogue extends EventEmitter {
  /** Keyed by engine id; a folder repeating a taken id is keyed `id@dir`. */
  private entries = new Map<string, EngineEntry>();
  /** Previous good generations, their snapshots and the hosts alive per id (generations.ts). */
  private readonly generations = new Generations(
    () => this.snapshotRoot,
    (id) => this.entries.has(id),
  );
  private readonly incidents = new Map<string, string>();
  private readonly fingerprints = new Map<string, string>();
  private readonly updates = new Map<string, Promise<void>>();
  private watcher?: PluginWatcher;
  private readonly spares = new Spares();
  private readonly log: Logger;

  constructor(
    private readonly config: Config,
    log: Logger,
  ) {
    super();
    this.log = log.child({ component: "registry" });
  }

  private readonly settingsOf = (id: string) => this.config.engines.settings[id];

  private get roots(): string[] {
    return this.config.engines.dirs.map(resolvePath);
  }

  private get snapshotRoot(): string {
    return path.join(resolvePath(this.config.dataDir), "plugins");
  }

  /** (Re)discovers all engine folders. */
  scan(): EngineEntry[] {
    const found = scanFolders(this.roots, this.settingsOf);
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

  /**
   * The engine with this id, if any (failed ones included). A Python engine whose environment
   * is missing or stale carries the reason and the setup command as its `error`.
   */
  get(id: string): EngineEntry | undefined {
    const entry = this.entries.get(id);
    const setup = entry && this.needsSetup(entry);
    return setup ? { ...entry, error: entry.error ?? `needs setup (${setup.reason}); run: ${setup.command}` } : entry;
  }

  /** Whether an engine declares `prefix` among its `voicePrefixes` (so `prefix:name` is one of its voices, not `engine:voice`). */
  voicePrefix(prefix: string): boolean {
    return [...this.entries.values()].some((e) => e.status === "available" && e.manifest.voicePrefixes?.includes(prefix));
  }

  /** Only engines that can run now: a Python engine that needs setup has none. */
  manifest(id: string): Manifest | undefined {
    const entry = this.entries.get(id);
    return entry?.status === "available" && !this.needsSetup(entry) ? entry.manifest : undefined;
  }

  /** Set for a Python engine whose environment is missing or stale (`chorus plugin setup ID`). */
  needsSetup(entry: EngineEntry): NeedsSetup | undefined {
    return entry.status === "available" ? needsSetup(entry.manifest, entry.dir, this.envsRoot) : undefined;
  }

  /** Where Python engines keep their environments. */
  get envsRoot(): string {
    return envsRoot(this.config, resolvePath);
  }

  /** What is wrong with an engine now: a rejected newer version, the last crash or failed load. */
  problems(entry: EngineEntry): string[] {
    const incident = this.entries.get(entry.id) === entry ? this.incidents.get(entry.id) : undefined;
    return [...entryErrors(entry), ...(incident ? [incident] : [])];
  }

  /** Watches the engine folders and hot-swaps plugins as they change. Resolves when watching. */
  async watch(options: { debounceMs?: number } = {}): Promise<void> {
    if (this.watcher) return;
    resetSnapshotRoot(this.snapshotRoot, path.join(CHORUS_ROOT, "node_modules"));
    for (const [key, entry] of this.entries) {
      this.fingerprints.set(entry.dir, fingerprint(entry.dir));
      if (entry.status === "available") this.entries.set(key, pinnedEntry(this.snapshotRoot, entry, this.log));
    }
    this.watcher = new PluginWatcher({
      roots: this.roots,
      debounceMs: options.debounceMs ?? 300,
      onFolder: (dir) => void this.refresh(dir),
      onError: (err) => this.log.error({ err, reason: "watch_error" }, "plugin watcher error"),
    });
    await this.watcher.start();
    this.log.info({ dirs: this.roots }, "watching plugin folders");
  }

  /** Stops watching, waits for updates in progress and closes the spare workers. */
  async close(): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
    await Promise.allSettled([...this.updates.values()]);
    await this.spares.closeAll();
  }

  /** Re-reads one plugin folder (the watcher calls this); updates of a folder run one at a time. */
  refresh(dir: string): Promise<void> {
    const run = (this.updates.get(dir) ?? Promise.resolve())
      .then(() => this.update(dir))
      .catch((err: unknown) => this.log.error({ err, dir, reason: "update_failed" }, "plugin update failed"));
    this.updates.set(dir, run);
    void run.finally(() => this.updates.get(dir) === run && this.updates.delete(dir));
    return run;
  }

  /** The entry as scanned, without the needs-setup overlay of `get` (the launcher starts from it). */
  entry(id: string): EngineEntry | undefined {
    return this.entries.get(id);
  }

  /** The spare worker the trial boot of this generation left behind, if still warm. */
  takeSpare(id: string, generation: number): EngineHost | undefined {
    return this.spares.take(id, generation);
  }

  /** Records an engine's current problem (a crash); `problems()` reports it until cleared. */
  recordIncident(id: string, incident: string): void {
    this.incidents.set(id, incident);
  }

  /** Clears the incident if it is still this one (a later one stays); true when it was. */
  clearIncident(id: string, incident: string): boolean {
    if (this.incidents.get(id) !== incident) return false;
    this.incidents.delete(id);
    return true;
  }

  private async update(dir: string): Promise<void> {
    const currentKey = [...this.entries].find(([, e]) => e.dir === dir)?.[0];
    const current = currentKey ? this.entries.get(currentKey) : undefined;
    // Gone, or a file beside the plugin folders (a README, a log): no plugin there (as in scan()).
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      if (currentKey) this.remove(currentKey);
      this.fingerprints.delete(dir);
      return;
    }
    const print = fingerprint(dir);
    if (current && this.fingerprints.get(dir) === print) return; // touched, not changed
    this.fingerprints.set(dir, print);
    const candidate = readPluginFolder(dir, this.settingsOf);
    const { accepted, error } =
      candidate.status === "available"
        ? await trialCandidate(candidate, {
            snapshotRoot: this.snapshotRoot,
            log: this.log.child({ plugin: candidate.id, generation: candidate.generation }),
            bootTimeoutMs: this.config.engines.startTimeoutSeconds * 1000,
            memory: this.config.engines.memory,
            // A Python engine without its environment cannot boot: it is listed as `needs setup`.
            command: this.needsSetup(candidate) ? false : (codeDir) => engineCommand(candidate.manifest, codeDir, this.envsRoot),
            spares: this.spares,
          })
        : { accepted: undefined, error: candidate.error };
    if (currentKey && current && current.id !== candidate.id) this.entries.delete(currentKey); // the id was renamed
    if (accepted) this.accept(accepted, current?.id === accepted.id ? current : undefined);
    else this.reject(candidate, error!, current?.id === candidate.id ? current : undefined);
  }

  private accept(entry: EngineEntry, previous: EngineEntry | undefined): void {
    const owner = this.entries.get(entry.id);
    if (owner && owner.dir !== entry.dir) {
      this.set(`${entry.id}@${entry.dir}`, duplicateChecked(this.entries, entry), "rejected");
      return;
    }
    this.generations.accepted(entry, previous);
    this.incidents.delete(entry.id);
    this.set(entry.id, entry, previous ? "updated" : "added");
  }

  private reject(candidate: EngineEntry, error: string, previous: EngineEntry | undefined): void {
    const { key, entry } = rejectedEntry(this.entries, candidate, error, previous);
    this.set(key, entry, "rejected");
  }

  /** A generation that fails to load (not for lack of memory) gives way to the previous good one. */
  loadFailed(id: string, generation: number, err: unknown): void {
    if (err instanceof OutOfMemoryError) return;
    const message = (err as Error).message;
    this.incidents.set(id, `generation ${generation} failed to load: ${message}`);
    const current = this.entries.get(id);
    const previous = this.generations.fallback(id);
    if (current?.status !== "available" || current.generation !== generation || !previous || previous.status !== "available") return;
    const error = `version ${current.manifest.version} (generation ${generation}) failed to load: ${message}; serving version ${previous.manifest.version} (generation ${previous.generation}) again`;
    this.set(id, { ...previous, error }, "demoted");
  }

  /** Counts a started host against its plugin id (the launcher calls this for every host): a removed plugin's snapshots go once the last has exited. */
  track(id: string, host: EngineHost): void {
    this.generations.track(id, host);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key)!;
    this.entries.delete(key);
    if (key === entry.id) this.generations.dropSnapshots(entry.id);
    if (key === entry.id) this.spares.drop(entry.id);
    if (key === entry.id) {
      this.generations.forget(entry.id);
      this.incidents.delete(entry.id);
      // A folder that lost the id to this one may now own it.
      for (const [k, e] of [...this.entries]) {
        if (!k.startsWith(`${entry.id}@`)) continue;
        this.entries.delete(k);
        this.fingerprints.delete(e.dir);
        void this.refresh(e.dir);
      }
    }
    this.log.info({ plugin: entry.id, dir: entry.dir, reason: "removed" }, "plugin removed");
    this.emit("change", { id: entry.id, kind: "removed" } satisfies RegistryChange);
  }

  private set(key: string, entry: EngineEntry, kind: RegistryChange["kind"]): void {
    this.entries.set(key, entry);
    const version = entry.manifest?.version;
    const error = entry.error;
    if (kind === "rejected" || kind === "demoted") this.log.error({ plugin: entry.id, version, reason: kind, error }, `plugin ${kind}: ${error}`);
    else this.log.info({ plugin: entry.id, version, generation: entry.generation, reason: kind }, `plugin ${kind}`);
    this.emit("change", { id: entry.id, kind, generation: entry.generation, error } satisfies RegistryChange);
  }
}
