/**
 * The registry as the rest of the host sees it: one object over three parts, each with its
 * own job and file: the plugin catalogue (catalogue.ts: scan, validate, hot swap, snapshots),
 * the engine launcher (launcher.ts: start instances, take the trial's spare worker) and the
 * default-engine selection (selection.ts). The facade holds no state and no logic of its own;
 * it exists because the API routes, the CLI, Wyoming and the scheduler take one `registry`.
 * `createHost` (core/host.ts) builds the parts in the container and this facade from them.
 */
import type { Logger } from "pino";
import path from "node:path";
import type { Config } from "../config/schema.ts";
import { resolvePath } from "../config/load.ts";
import type { DeviceInfo, Manifest, PlacementProfile } from "../../packages/sdk/src/index.ts";
import { PluginCatalogue, type RegistryChange } from "./catalogue.ts";
import type { EngineHost } from "./engine-host.ts";
import { EngineLauncher } from "./launcher.ts";
import type { EngineEntry } from "./plugin-folder.ts";
import type { NeedsSetup } from "../python/index.ts";
import { EngineSelection } from "./selection.ts";

export { MANIFEST_FILE, readPluginFolder, type EngineEntry } from "./plugin-folder.ts";
export type { RegistryChange } from "./catalogue.ts";

/** The selection of default engine kept in `<dataDir>/state.json`, looking engines up in `catalogue`. */
export function engineSelection(config: Config, catalogue: PluginCatalogue): EngineSelection {
  const stateFile = path.join(resolvePath(config.dataDir), "state.json");
  return new EngineSelection(stateFile, config.engines.default, (id) => catalogue.get(id));
}

export class Registry {
  constructor(
    readonly catalogue: PluginCatalogue,
    readonly launcher: EngineLauncher,
    /** The runtime-selected default engine. */
    readonly selection: EngineSelection,
  ) {}

  /** The three parts wired together (what `createHost` registers, for code outside a host). */
  static create(config: Config, log: Logger): Registry {
    const catalogue = new PluginCatalogue(config, log);
    return new Registry(catalogue, new EngineLauncher(config, catalogue, log), engineSelection(config, catalogue));
  }

  // catalogue
  scan(): EngineEntry[] {
    return this.catalogue.scan();
  }
  list(): EngineEntry[] {
    return this.catalogue.list();
  }
  get(id: string): EngineEntry | undefined {
    return this.catalogue.get(id);
  }
  voicePrefix(prefix: string): boolean {
    return this.catalogue.voicePrefix(prefix);
  }
  manifest(id: string): Manifest | undefined {
    return this.catalogue.manifest(id);
  }
  needsSetup(entry: EngineEntry): NeedsSetup | undefined {
    return this.catalogue.needsSetup(entry);
  }
  problems(entry: EngineEntry): string[] {
    return this.catalogue.problems(entry);
  }
  watch(options?: { debounceMs?: number }): Promise<void> {
    return this.catalogue.watch(options);
  }
  refresh(dir: string): Promise<void> {
    return this.catalogue.refresh(dir);
  }
  close(): Promise<void> {
    this.selection.close();
    return this.catalogue.close();
  }
  on(event: "change", listener: (change: RegistryChange) => void): this {
    this.catalogue.on(event, listener);
    return this;
  }
  off(event: "change", listener: (change: RegistryChange) => void): this {
    this.catalogue.off(event, listener);
    return this;
  }
  listenerCount(event: "change"): number {
    return this.catalogue.listenerCount(event);
  }

  // launcher
  profileOffered(id: string, profile: PlacementProfile): boolean {
    return this.launcher.profileOffered(id, profile);
  }
  startEngine(id: string, profile: PlacementProfile, device?: DeviceInfo, replicas?: number): Promise<EngineHost> {
    return this.launcher.startEngine(id, profile, device, replicas);
  }
}
