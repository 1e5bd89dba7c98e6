/**
 * Hot-swap generation bookkeeping for the plugin catalogue (catalogue.ts): the previous good
 * generations kept per engine (to fall back to when a new one fails to load), which snapshots
 * those generations need on disk, and the engine hosts still alive per plugin id, so a removed
 * plugin's snapshots go only once its last host has exited.
 */
import fs from "node:fs";
import path from "node:path";
import type { EngineHost } from "./engine-host.ts";
import type { EngineEntry } from "./plugin-folder.ts";
import { pruneSnapshots } from "./snapshot.ts";

/** Previous good generations kept per engine (to fall back to when a new one fails to load). */
export const HISTORY = 2;

export class Generations {
  private readonly history = new Map<string, EngineEntry[]>();
  /** Engine hosts alive per plugin id. */
  private readonly live = new Map<string, Set<EngineHost>>();

  /**
   * @param snapshotRoot where the snapshots of each generation live (`<root>/<id>/<generation>`)
   * @param listed whether the catalogue still lists the plugin id
   */
  constructor(
    private readonly snapshotRoot: () => string,
    private readonly listed: (id: string) => boolean,
  ) {}

  /**
   * `entry` replaces `previous` (when it was the same engine's entry): a good previous
   * generation is kept to fall back to, and snapshots of generations no longer kept are pruned.
   */
  accepted(entry: EngineEntry, previous: EngineEntry | undefined): void {
    const kept = this.history.get(entry.id) ?? [];
    if (previous?.status === "available") kept.push({ ...previous, error: undefined });
    this.history.set(entry.id, kept.slice(-HISTORY));
    pruneSnapshots(this.snapshotRoot(), entry.id, [entry.generation, ...kept.map((e) => e.generation)]);
  }

  /** Takes the latest kept generation before the current one (to serve again), if any. */
  fallback(id: string): EngineEntry | undefined {
    return this.history.get(id)?.pop();
  }

  /** The plugin id is gone: no generation of it is kept. */
  forget(id: string): void {
    this.history.delete(id);
  }

  /** Counts a started host against its plugin id; once the last exits, an unlisted plugin's snapshots go. */
  track(id: string, host: EngineHost): void {
    const set = this.live.get(id) ?? new Set<EngineHost>();
    this.live.set(id, set);
    set.add(host);
    host.once("exit", () => {
      set.delete(host);
      if (!set.size && !this.listed(id)) this.dropSnapshots(id);
    });
  }

  /** Deletes the plugin's snapshots unless a host of it still runs. */
  dropSnapshots(id: string): void {
    if (this.live.get(id)?.size) return;
    this.live.delete(id);
    fs.rmSync(path.join(this.snapshotRoot(), id), { recursive: true, force: true });
  }
}

/**
 * Where a candidate that failed validation or its trial boot goes: a good previous generation
 * of the same engine keeps serving and carries the error; otherwise a failed entry is listed
 * (under `id@dir` when another folder owns the id).
 */
export function rejectedEntry(
  entries: Map<string, EngineEntry>,
  candidate: EngineEntry,
  error: string,
  previous: EngineEntry | undefined,
): { key: string; entry: EngineEntry } {
  // An invalid manifest still says which version it meant to be; unreadable JSON says nothing.
  const version = candidate.manifest?.version ?? (candidate.status === "failed" ? candidate.version : undefined);
  if (previous?.status === "available") {
    const kept = `${version ? `version ${version}` : "a change"} rejected: ${error}; still serving version ${previous.manifest.version} (generation ${previous.generation})`;
    return { key: previous.id, entry: { ...previous, error: kept } };
  }
  const failed: EngineEntry = { id: candidate.id, dir: candidate.dir, generation: candidate.generation, status: "failed", error, manifest: candidate.manifest };
  const owner = entries.get(candidate.id);
  return { key: owner && owner.dir !== candidate.dir ? `${candidate.id}@${candidate.dir}` : candidate.id, entry: failed };
}
