/**
 * The trial a changed plugin passes before it may replace a good generation: its code is
 * imported and `create` run in a worker (no `load`: that would take memory outside the
 * scheduler's accounting; a failing load is caught later and demotes the generation).
 * A worker that passes is kept for a while as a spare, so the first load of the new
 * generation skips the boot.
 */
import fs from "node:fs";
import type { Logger } from "pino";
import type { Manifest } from "../../packages/sdk/src/index.ts";
import { EngineHost } from "./engine-host.ts";
import type { EngineEntry } from "./plugin-folder.ts";
import { snapshotDir, takeSnapshot } from "./snapshot.ts";
import type { ProcessCommand } from "./worker-link.ts";
import type { MemoryPolicy } from "./memory-limit.ts";

export type TrialResult = { host: EngineHost; error?: undefined } | { host?: undefined; error: string };

export async function trialBoot(
  manifest: Manifest,
  codeDir: string,
  generation: number,
  log: Logger,
  bootTimeoutMs: number,
  command?: ProcessCommand,
  memory?: MemoryPolicy,
): Promise<TrialResult> {
  const host = new EngineHost({ manifest, pluginDir: codeDir, generation, log, bootTimeoutMs, processCommand: command, memory });
  try {
    await host.start();
    return { host };
  } catch (err) {
    await host.terminate();
    return { error: `failed to start: ${(err as Error).message}` };
  }
}

export interface CandidateTrial {
  snapshotRoot: string;
  log: Logger;
  bootTimeoutMs: number;
  memory?: MemoryPolicy;
  /** How to start the engine from its snapshot; `false`: it cannot boot yet (needs setup), skip the boot. */
  command: ((codeDir: string) => ProcessCommand | undefined) | false;
  /** Where a worker that passed waits for the launcher. */
  spares: Spares;
}

/**
 * Snapshots a changed, valid plugin folder and trial-boots the snapshot. Accepted: the entry
 * running from its snapshot; rejected: the reason (and the snapshot is gone).
 */
export async function trialCandidate(
  candidate: EngineEntry & { status: "available" },
  trial: CandidateTrial,
): Promise<{ accepted?: EngineEntry; error?: string }> {
  const codeDir = snapshotDir(trial.snapshotRoot, candidate.id, candidate.generation);
  let error: string | undefined;
  try {
    takeSnapshot(candidate.dir, codeDir);
    if (trial.command !== false) {
      const result = await trialBoot(candidate.manifest, codeDir, candidate.generation, trial.log, trial.bootTimeoutMs, trial.command(codeDir), trial.memory);
      error = result.error;
      if (result.host) trial.spares.put(candidate.id, result.host);
    }
  } catch (err) {
    error = `cannot snapshot the plugin folder: ${(err as Error).message}`;
  }
  if (!error) return { accepted: { ...candidate, codeDir } };
  fs.rmSync(codeDir, { recursive: true, force: true });
  return { error };
}

/** Booted, not yet loaded engine workers, one per engine, each for `ttlMs` at most. */
export class Spares {
  private readonly spares = new Map<string, { host: EngineHost; timer: NodeJS.Timeout }>();

  constructor(private readonly ttlMs = 30_000) {}

  put(id: string, host: EngineHost): void {
    this.drop(id);
    const timer = setTimeout(() => this.drop(id), this.ttlMs);
    timer.unref();
    this.spares.set(id, { host, timer });
  }

  /** The spare of this generation, if there is a live one (it is no longer a spare then). */
  take(id: string, generation: number): EngineHost | undefined {
    const spare = this.spares.get(id);
    if (!spare || spare.host.generation !== generation || !spare.host.alive) return undefined;
    clearTimeout(spare.timer);
    this.spares.delete(id);
    return spare.host;
  }

  drop(id: string): void {
    const spare = this.spares.get(id);
    if (!spare) return;
    clearTimeout(spare.timer);
    this.spares.delete(id);
    void spare.host.terminate();
  }

  async closeAll(): Promise<void> {
    const hosts = [...this.spares.values()].map((s) => s.host);
    for (const id of [...this.spares.keys()]) this.drop(id);
    await Promise.all(hosts.map((h) => h.terminate()));
  }
}
