/**
 * Watches the plugin folders (chokidar) and reports which plugin folder changed, once per
 * burst: an editor's save or an unpacking archive touches many files within milliseconds and
 * causes one report after `debounceMs` of quiet, not one per file.
 */
import fs from "node:fs";
import path from "node:path";
import { watch, type FSWatcher } from "chokidar";

export interface PluginWatcherOptions {
  /** Folders holding one plugin folder each. */
  roots: string[];
  debounceMs: number;
  /** A plugin folder (direct child of a root) changed, appeared or disappeared. */
  onFolder(dir: string): void;
  onError(err: unknown): void;
}

const IGNORED = /(^|[\\/])(node_modules|\.git|__pycache__)([\\/]|$)/;

export class PluginWatcher {
  private watcher?: FSWatcher;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private poll?: NodeJS.Timeout;

  constructor(private readonly options: PluginWatcherOptions) {}

  /** Resolves once the initial crawl is done (later changes are reported). */
  async start(): Promise<void> {
    const present = this.options.roots.filter((r) => fs.existsSync(r));
    const watcher = watch(present, { ignoreInitial: true, ignored: (p: string) => IGNORED.test(p) });
    this.watcher = watcher;
    watcher.on("all", (_event, file) => this.touched(file));
    watcher.on("error", (err) => this.options.onError(err));
    if (present.length) await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
    this.watchForMissing(this.options.roots.filter((r) => !present.includes(r)));
  }

  /** A plugins folder that does not exist yet is looked for every second, and watched once it does. */
  private watchForMissing(missing: string[]): void {
    if (!missing.length) return;
    this.poll = setInterval(() => {
      for (const root of [...missing]) {
        if (!fs.existsSync(root)) continue;
        missing.splice(missing.indexOf(root), 1);
        this.watcher?.add(root);
        for (const d of fs.readdirSync(root, { withFileTypes: true })) if (d.isDirectory()) this.touched(path.join(root, d.name));
      }
      if (!missing.length) clearInterval(this.poll);
    }, 1000);
    this.poll.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.poll);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.watcher?.close();
    this.watcher = undefined;
  }

  /** The plugin folder a changed path belongs to, if any. */
  folderOf(file: string): string | undefined {
    for (const root of this.options.roots) {
      const rel = path.relative(root, file);
      if (!rel || rel.startsWith("..") || path.isAbsolute(rel)) continue;
      const name = rel.split(path.sep)[0]!;
      if (name.startsWith(".")) return undefined;
      return path.join(root, name);
    }
    return undefined;
  }

  private touched(file: string): void {
    const dir = this.folderOf(path.resolve(file));
    if (!dir) return;
    clearTimeout(this.timers.get(dir));
    this.timers.set(
      dir,
      setTimeout(() => {
        this.timers.delete(dir);
        this.options.onFolder(dir);
      }, this.options.debounceMs),
    );
  }
}
