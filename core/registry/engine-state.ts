/**
 * An engine's state, one rule for every view of it: GET /api/engines, the dashboard's feed
 * (GET /api/scheduler/events) and `chorus engines`.
 */
import type { NeedsSetup } from "../python/index.ts";
import type { EngineEntry } from "./plugin-folder.ts";

export type EngineState = "failed" | "needs setup" | "loaded" | "available";

/**
 * `setup` is `registry.needsSetup(entry)`, which the caller computes once and passes (it reads
 * and hashes the plugin's requirement files; the caller shows it too). `loaded`: whether the
 * scheduler holds the engine now (false where nothing is loaded, as in the CLI's own process).
 */
export function engineState(entry: Pick<EngineEntry, "status">, setup: NeedsSetup | undefined, loaded: boolean): EngineState {
  if (entry.status === "failed") return "failed";
  if (setup) return "needs setup";
  return loaded ? "loaded" : "available";
}
