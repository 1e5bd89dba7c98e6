/** Entry of an engine's worker thread: protocol messages by postMessage, PCM transferred. */
import { parentPort, workerData } from "node:worker_threads";
import { portChannel, runEngine } from "./engine-runtime.ts";
import { lowerEnginePriority } from "./priority.ts";
import type { EngineBootData } from "./protocol.ts";

lowerEnginePriority();
const port = parentPort!;
await runEngine(workerData as EngineBootData, portChannel(port, () => process.exit(0)));
