// Module loading for every process Chorus runs plugin code in: the `chorus` CLI (plugin
// commands), engine worker threads and engine child processes. One place, so that a plugin
// in any folder of `engines.dirs` resolves `chorus/sdk` (and `@chorus-tts/sdk`) to this host's
// SDK, and TypeScript sources load through tsx, the same way everywhere.
import { register as registerHooks } from "node:module";
import { register as registerTsx } from "tsx/esm/api";

let done = false;

/**
 * `transpiler`: a MessagePort to the host's transpiler (transpiler.ts), used instead of tsx in
 * engine worker threads, whose own esbuild process would be left a zombie when they end.
 */
export function registerChorusLoaders({ transpiler } = {}) {
  if (done) return;
  done = true;
  if (transpiler) registerHooks(new URL("./transpile-hooks.mjs", import.meta.url), { data: { port: transpiler }, transferList: [transpiler] });
  else registerTsx();
  registerHooks(new URL("./sdk-hooks.mjs", import.meta.url), {
    data: { sdkUrl: new URL("../../packages/sdk/src/index.ts", import.meta.url).href, rootUrl: new URL("../../", import.meta.url).href },
  });
}
