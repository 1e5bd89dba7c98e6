/**
 * Entry of an engine's child process (isolation: "process"), Node runtime. Boot data arrives
 * as argv[2]; the protocol runs framed on the fd named by CHORUS_PROTOCOL_FD (3).
 */
import net from "node:net";
import { runEngine } from "./engine-runtime.ts";
import { FrameDecoder, encodeFrame, samplesToPayload } from "./framing.ts";
import { lowerEnginePriority } from "./priority.ts";
import type { EngineBootData, HostToEngine } from "./protocol.ts";

lowerEnginePriority();
const boot = JSON.parse(process.argv[2] ?? "{}") as EngineBootData;
const socket = new net.Socket({ fd: Number(process.env.CHORUS_PROTOCOL_FD ?? 3), readable: true, writable: true });
// The host going away (its end of the socket closes) must take the engine with it.
socket.on("end", () => process.exit(0));
socket.on("error", () => process.exit(0));
const decoder = new FrameDecoder();
let handler: ((m: HostToEngine) => void) | undefined;
socket.on("data", (data: Buffer) => {
  let frames;
  try {
    frames = decoder.push(data);
  } catch (err) {
    process.stderr.write(`chorus engine: protocol error from the host: ${(err as Error).message}\n`);
    process.exit(70);
  }
  for (const { header } of frames) handler?.(header as unknown as HostToEngine);
});
await runEngine(boot, {
  send: (message) => {
    const { samples, ...header } = message as { samples?: Int16Array };
    for (const part of encodeFrame(header as Record<string, unknown>, samples ? samplesToPayload(samples) : undefined)) socket.write(part);
  },
  onMessage: (h) => (handler = h),
  exit: () => socket.end(() => process.exit(0)),
});
