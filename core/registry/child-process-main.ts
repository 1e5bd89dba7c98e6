/** Entry of an engine's child process (isolation: "process"). Boot data arrives as argv[2]. */
import { runEngine } from "./engine-runtime.ts";
import { lowerEnginePriority } from "./priority.ts";
import type { EngineBootData, HostToEngine } from "./protocol.ts";

lowerEnginePriority();
const boot = JSON.parse(process.argv[2] ?? "{}") as EngineBootData;
// The host going away must take the engine with it (never leave a process holding memory).
process.on("disconnect", () => process.exit(0));
await runEngine(boot, {
  send: (message) => process.send!(message),
  onMessage: (handler) => process.on("message", (m: HostToEngine) => handler(m)),
});
