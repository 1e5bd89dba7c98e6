// Entry of engine worker threads and child processes: the loaders, then the runtime.
import { isMainThread, workerData } from "node:worker_threads";
import { registerChorusLoaders } from "./loaders.mjs";

// A worker thread has its TypeScript transpiled by the host's main thread (transpiler.ts).
registerChorusLoaders(isMainThread ? {} : { transpiler: workerData.transpiler });
const entry = isMainThread ? "./child-process-main.ts" : "./worker-thread-main.ts";
await import(new URL(entry, import.meta.url).href);
