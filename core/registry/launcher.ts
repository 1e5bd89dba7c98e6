/**
 * The engine launcher: starts a fresh instance of a catalogued engine in its own worker (or
 * child process, for Python engines) and loads it with the profile and device the scheduler
 * chose. A warm spare left by the trial boot of the same generation skips the boot. Crashes
 * and failed loads are reported back to the catalogue (which may demote the generation).
 */
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config/schema.ts";
import { resolvePath } from "../config/load.ts";
import type { DeviceInfo, PlacementProfile } from "../../packages/sdk/src/index.ts";
import type { PluginCatalogue } from "./catalogue.ts";
import { EngineHost } from "./engine-host.ts";
import { trackCrashes } from "./crash-incidents.ts";
import { engineCommand, envDir, profileOffered, readRecord } from "../python/index.ts";

const CPU: DeviceInfo = { kind: "cpu", index: 0, simulated: false };

export class EngineLauncher {
  private readonly log: Logger;

  constructor(
    private readonly config: Config,
    private readonly catalogue: PluginCatalogue,
    log: Logger,
  ) {
    this.log = log.child({ component: "registry" });
  }

  /**
   * Whether a profile is offered: one that `requires` Python modules only when the plugin's
   * environment record says they import (`chorus plugin setup` checks).
   */
  profileOffered(id: string, profile: PlacementProfile): boolean {
    if (!profile.requires?.length) return true;
    const entry = this.catalogue.entry(id);
    if (entry?.status !== "available" || entry.manifest.runtime !== "python") return false;
    return profileOffered(profile, readRecord(envDir(this.catalogue.envsRoot, id))?.modules);
  }

  /**
   * Starts a fresh instance of engine `id` in its own worker and loads it with `profile`;
   * `replicas` > 1: that many copies of the engine, each in its own worker (engine-host.ts).
   */
  async startEngine(id: string, profile: PlacementProfile, device: DeviceInfo = CPU, replicas = 1): Promise<EngineHost> {
    const entry = this.catalogue.entry(id);
    if (entry?.status !== "available") throw new Error(`engine '${id}' is not available`);
    const { generation } = entry;
    const codeDir = entry.codeDir ?? entry.dir;
    const spare = this.catalogue.takeSpare(id, generation); // booted by the trial of this generation
    const host =
      spare ??
      new EngineHost({
        manifest: entry.manifest,
        pluginDir: codeDir,
        generation,
        log: this.log.child({ plugin: id, generation }),
        bootTimeoutMs: this.config.engines.startTimeoutSeconds * 1000,
        memory: this.config.engines.memory,
        processCommand: engineCommand(entry.manifest, codeDir, this.catalogue.envsRoot),
      });
    trackCrashes(host, id, generation, this.catalogue); // each copy's crash, until it serves again
    this.catalogue.track(id, host);
    try {
      if (!spare) await host.start();
      const dataDir = path.join(resolvePath(this.config.dataDir), "engines", id);
      fs.mkdirSync(dataDir, { recursive: true });
      await host.load({ profile, device, pluginDir: codeDir, settings: entry.settings, dataDir }, replicas);
    } catch (err) {
      await host.terminate();
      this.catalogue.loadFailed(id, generation, err);
      throw err;
    }
    return host;
  }
}
