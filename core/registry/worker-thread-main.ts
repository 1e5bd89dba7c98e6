/** Entry of an engine's worker thread: protocol messages by postMessage, PCM transferred. */
import { parentPort, workerData } from "node:worker_threads";
import { runEngine } from "./engine-runtime.ts";
import { lowerEnginePriority } from "./priority.ts";
import type { EngineBootData, HostToEngine } from "./protocol.ts";
import { isolateUsage } from "./usage-report.ts";

lowerEnginePriority();
const port = parentPort!;
const boot = workerData as EngineBootData;
await runEngine(boot, {
  send: (message, transfer) => port.postMessage(message, transfer ?? []),
  onMessage: (handler) => port.on("message", (m: HostToEngine) => handler(m)),
  exit: () => process.exit(0),
}, boot.usageEveryMs ? isolateUsage(boot.usageEveryMs) : undefined);
