// Loads TypeScript sources (host and plugins) in engine workers and child processes.
import { register } from "tsx/esm/api";
import { isMainThread } from "node:worker_threads";

register();
const entry = isMainThread ? "./child-process-main.ts" : "./worker-thread-main.ts";
await import(new URL(entry, import.meta.url).href);
