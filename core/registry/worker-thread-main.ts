/** Entry of an engine's worker thread: protocol messages by postMessage, PCM transferred. */
import { parentPort, workerData } from "node:worker_threads";
import { portChannel, runEngine } from "./engine-runtime.ts";
import { lowerEnginePriority } from "./priority.ts";
import type { EngineBootData } from "./protocol.ts";
import { isolateUsage } from "./usage-report.ts";

lowerEnginePriority();
const port = parentPort!;
const boot = workerData as EngineBootData;
await runEngine(
  boot,
  portChannel(port, () => process.exit(0)),
  boot.usageEveryMs ? isolateUsage(boot.usageEveryMs) : undefined,
);
