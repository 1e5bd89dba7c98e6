/**
 * The default engine, chosen at runtime (`POST /api/engines/:id/activate`,
 * `POST /api/reload?tts_method=ID`, `chorus use ID`) and kept in `<dataDir>/state.json` so
 * it survives restarts. Without a choice, the configured `engines.default` applies. The file
 * is re-read when it changes on disk, so `chorus use` reaches a running server too: it is
 * watched (fs.watchFile: a stat every WATCH_MS on libuv's thread pool), not looked at by every
 * request (a statSync on the event loop cost 0.1 ms per request here).
 */
import fs from "node:fs";
import path from "node:path";
import { ChorusError } from "../errors.ts";
import type { EngineEntry } from "./plugin-folder.ts";

export interface SelectionState {
  defaultEngine?: string;
  changedAt?: string;
}

/** How often the state file is looked at for changes by another process, ms. */
export const WATCH_MS = 250;

export class EngineSelection {
  private cached: { mtimeMs: number; state: SelectionState } | undefined;
  private watching = false;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly configured: string,
    private readonly lookup: (id: string) => EngineEntry | undefined,
  ) {}

  /**
   * The engine a request that names none goes to: the runtime choice while that engine is
   * installed (its plugin may have been removed since), else the configured default.
   */
  current(): string {
    const chosen = (this.cached?.state ?? this.read()).defaultEngine;
    return chosen !== undefined && this.lookup(chosen) ? chosen : this.configured;
  }

  /** Makes `id` the default; throws 404/503 when it is not installed or not usable. */
  set(id: string): { default: string; previous: string } {
    const entry = this.lookup(id);
    if (!entry) throw new ChorusError("CHORUS_ERR_ENGINE_NOT_FOUND", `no engine '${id}'`, { field: "engine" });
    if (entry.status !== "available") {
      throw new ChorusError("CHORUS_ERR_ENGINE_UNAVAILABLE", `engine '${id}' is unavailable: ${entry.error}`, { field: "engine" });
    }
    const previous = this.current();
    const state: SelectionState = { ...this.read(), defaultEngine: id, changedAt: new Date().toISOString() };
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
    fs.renameSync(tmp, this.file); // atomic: a reader never sees half a file
    this.cached = undefined;
    return { default: id, previous };
  }

  /** Stops watching the file. */
  close(): void {
    if (this.watching) fs.unwatchFile(this.file, this.onChange);
    this.watching = false;
    this.closed = true;
  }

  private readonly onChange = () => {
    this.cached = undefined;
  };

  /** The file's state (read again only after it changed: the watch drops the cached copy). */
  private read(): SelectionState {
    if (!this.watching && !this.closed) {
      this.watching = true;
      fs.watchFile(this.file, { interval: WATCH_MS, persistent: false }, this.onChange);
      // The watch takes its first look later, off this thread: a change made before then
      // would not count as one, so the file is read once more after the watch has looked.
      setTimeout(this.onChange, 2 * WATCH_MS).unref();
    }
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(this.file).mtimeMs;
    } catch {
      this.cached = { mtimeMs: 0, state: {} }; // no file (no choice yet): the watch sees it appear
      return this.cached.state;
    }
    if (this.cached?.mtimeMs === mtimeMs) return this.cached.state;
    let state: SelectionState = {};
    try {
      const raw = JSON.parse(fs.readFileSync(this.file, "utf8")) as SelectionState;
      if (raw && typeof raw === "object" && (raw.defaultEngine === undefined || typeof raw.defaultEngine === "string")) state = raw;
    } catch {
      // unreadable or half-written by hand: fall back to the configured default
    }
    this.cached = { mtimeMs, state };
    return state;
  }
}
