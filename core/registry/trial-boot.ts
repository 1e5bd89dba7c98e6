/**
 * The trial a changed plugin passes before it may replace a good generation: its code is
 * imported and `create` run in a throwaway worker (no `load`: that would take memory outside
 * the scheduler's accounting; a failing load is caught later and demotes the generation).
 */
import type { Logger } from "pino";
import type { Manifest } from "../sdk/manifest.ts";
import { EngineHost } from "./engine-host.ts";

/** The reason the plugin cannot start, or undefined when it can. */
export async function trialBoot(manifest: Manifest, codeDir: string, log: Logger, bootTimeoutMs: number): Promise<string | undefined> {
  const host = new EngineHost({ manifest, pluginDir: codeDir, log, bootTimeoutMs });
  try {
    await host.start();
    return undefined;
  } catch (err) {
    return `failed to start: ${(err as Error).message}`;
  } finally {
    await host.terminate();
  }
}
