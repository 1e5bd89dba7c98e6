// Loads TypeScript sources (host and plugins) in engine workers and child processes.
import { register as registerHooks } from "node:module";
import { register } from "tsx/esm/api";
import { isMainThread, workerData } from "node:worker_threads";

if (isMainThread) register();
// A worker thread has its TypeScript transpiled by the host's main thread (transpiler.ts).
else registerHooks(new URL("./transpile-hooks.mjs", import.meta.url), { data: { port: workerData.transpiler }, transferList: [workerData.transpiler] });
registerHooks(new URL("./sdk-hooks.mjs", import.meta.url), {
  data: { sdkUrl: new URL("../sdk/index.ts", import.meta.url).href, rootUrl: new URL("../../", import.meta.url).href },
});
const entry = isMainThread ? "./child-process-main.ts" : "./worker-thread-main.ts";
await import(new URL(entry, import.meta.url).href);
