/** Entry of an engine's worker thread: protocol messages by postMessage, PCM transferred. */
import { parentPort, workerData } from "node:worker_threads";
import { runEngine } from "./engine-runtime.ts";
import { lowerEnginePriority } from "./priority.ts";
import type { EngineBootData, HostToEngine } from "./protocol.ts";

lowerEnginePriority();
const port = parentPort!;
await runEngine(workerData as EngineBootData, {
  send: (message, transfer) => port.postMessage(message, transfer ?? []),
  onMessage: (handler) => port.on("message", (m: HostToEngine) => handler(m)),
  exit: () => process.exit(0),
});
