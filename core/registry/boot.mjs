// Entry of engine worker threads and child processes: the loaders, then the runtime.
import { isMainThread } from "node:worker_threads";
import { registerChorusLoaders } from "./loaders.mjs";

registerChorusLoaders();
const entry = isMainThread ? "./child-process-main.ts" : "./worker-thread-main.ts";
await import(new URL(entry, import.meta.url).href);
