/**
 * Piper voices found in the configured directories: every `NAME.onnx` next to a valid
 * `NAME.onnx.json` is a voice with id NAME. A bad pair (missing half, invalid JSON, failed
 * validation, duplicate name) is reported with its reason and skipped; the others stay usable.
 * `refresh()` re-reads a directory only when its listing (names, sizes, times) changed, and
 * re-validates only changed configs, so it is cheap enough to call on every `listVoices`;
 * `watch()` also refreshes when files are added or removed while running.
 */
import fs from "node:fs";
import path from "node:path";
import { readVoiceConfig, type VoiceConfig } from "./voice-config.ts";

export interface CatalogVoice {
  id: string;
  dir: string;
  modelPath: string;
  configPath: string;
  config: VoiceConfig;
  /** Changes when the model or config file changes (size and modification time). */
  version: string;
}

export interface VoiceProblem {
  path: string;
  reason: string;
}

export interface CatalogLog {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
}

interface ConfigCacheEntry {
  stamp: string;
  result: { config: VoiceConfig } | { error: string };
}

const stampOf = (stat: fs.Stats) => `${stat.size}:${stat.mtimeMs}`;

export class VoiceCatalog {
  private voices = new Map<string, CatalogVoice>();
  private problems: VoiceProblem[] = [];
  private signature = "";
  private configCache = new Map<string, ConfigCacheEntry>();
  private watchers: fs.FSWatcher[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    readonly dirs: string[],
    private readonly log: CatalogLog,
  ) {}

  list(): CatalogVoice[] {
    return [...this.voices.values()];
  }

  get(id: string): CatalogVoice | undefined {
    return this.voices.get(id);
  }

  /** Bad voice files found by the last scan. */
  getProblems(): VoiceProblem[] {
    return [...this.problems];
  }

  /** Re-scans when any directory's contents changed; returns true when the catalogue changed. */
  refresh(): boolean {
    const listings = this.dirs.map((dir) => ({ dir, entries: listDir(dir) }));
    const signature = JSON.stringify(listings);
    if (signature === this.signature) return false;
    this.signature = signature;
    const voices = new Map<string, CatalogVoice>();
    const problems: VoiceProblem[] = [];
    const seen = new Set<string>();
    for (const { dir, entries } of listings) {
      const stamps = new Map(entries.map(([name, stamp]) => [name, stamp]));
      for (const [name, stamp] of entries) {
        const configPath = path.join(dir, name);
        if (name.endsWith(".onnx") && !stamps.has(`${name}.json`)) {
          problems.push({ path: path.join(dir, name), reason: `no voice config ${name}.json next to the model` });
          continue;
        }
        if (!name.endsWith(".onnx.json")) continue;
        const id = name.slice(0, -".onnx.json".length);
        const modelName = `${id}.onnx`;
        if (!stamps.has(modelName)) {
          problems.push({ path: configPath, reason: `no model ${modelName} next to the config` });
          continue;
        }
        const result = this.readConfig(configPath, stamp);
        if ("error" in result) {
          problems.push({ path: configPath, reason: result.error });
          continue;
        }
        if (seen.has(id)) {
          problems.push({ path: configPath, reason: `voice '${id}' is already provided by ${voices.get(id)?.dir ?? "an earlier directory"}` });
          continue;
        }
        seen.add(id);
        voices.set(id, { id, dir, modelPath: path.join(dir, modelName), configPath, config: result.config, version: `${stamps.get(modelName)}|${stamp}` });
      }
    }
    const added = [...voices.keys()].filter((id) => !this.voices.has(id));
    const removed = [...this.voices.keys()].filter((id) => !voices.has(id));
    const known = new Set(this.problems.map((p) => `${p.path}\n${p.reason}`));
    for (const problem of problems) {
      if (!known.has(`${problem.path}\n${problem.reason}`)) this.log.warn(`piper: skipping voice file: ${problem.reason}`, { path: problem.path });
    }
    if (added.length || removed.length) this.log.info("piper: voices changed", { added, removed, total: voices.size });
    this.voices = voices;
    this.problems = problems;
    return true;
  }

  /** Refreshes (debounced) when a directory's entries change. Directories created later are polled. */
  watch(debounceMs = 150): void {
    const schedule = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.refresh(), debounceMs);
      this.timer.unref();
    };
    for (const dir of this.dirs) {
      try {
        const watcher = fs.watch(dir, { persistent: false }, schedule);
        watcher.on("error", () => watcher.close());
        this.watchers.push(watcher);
      } catch {
        // Directory missing (or unwatchable): `refresh()` on listVoices still sees it later.
      }
    }
  }

  close(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  private readConfig(file: string, stamp: string): ConfigCacheEntry["result"] {
    const cached = this.configCache.get(file);
    if (cached?.stamp === stamp) return cached.result;
    let result: ConfigCacheEntry["result"];
    try {
      result = { config: readVoiceConfig(file) };
    } catch (err) {
      result = { error: (err as Error).message };
    }
    this.configCache.set(file, { stamp, result });
    return result;
  }
}

/** [name, size:mtime] of the `.onnx` / `.onnx.json` files in `dir`, sorted; [] when absent. */
function listDir(dir: string): [string, string][] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const entries: [string, string][] = [];
  for (const name of names.sort()) {
    if (!name.endsWith(".onnx") && !name.endsWith(".onnx.json")) continue;
    try {
      const stat = fs.statSync(path.join(dir, name));
      if (stat.isFile()) entries.push([name, stampOf(stat)]);
    } catch {
      // removed between readdir and stat
    }
  }
  return entries;
}
