/**
 * What the xtts-api-server routes share: the host, the per-process state (settings, folders,
 * engine) and the preview renderer. One context serves Chorus's port and the second listener,
 * so a setting made on one applies on the other, as xtts-api-server's settings are global.
 */
import fs from "node:fs";
import path from "node:path";
import { CHORUS_ROOT } from "../../config/load.ts";
import type { Host } from "../../host.ts";
import { Samples } from "./samples.ts";
import { createState, type XttsState } from "./target.ts";

export interface XttsContext {
  host: Host;
  state: XttsState;
  samples: Samples;
}

export function createContext(host: Host): XttsContext {
  const state = createState(host.config);
  fs.mkdirSync(state.outputFolder, { recursive: true });
  const cacheDir = path.resolve(CHORUS_ROOT, host.config.dataDir, "cache", "xtts-api-samples");
  return { host, state, samples: new Samples(host, state, cacheDir) };
}
