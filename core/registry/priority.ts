/**
 * Engines run at a lower CPU priority than the host, so that on a busy machine the event
 * loop (HTTP, /health, scheduling) gets the CPU first and engines take what is left. Linux
 * sets priorities per thread: a worker thread finds its own thread id in /proc/thread-self.
 */
import fs from "node:fs";
import os from "node:os";
import { isMainThread } from "node:worker_threads";

/** Niceness added to engine threads and processes (0-19; higher = lower priority). */
export const ENGINE_NICENESS = 5;

export function lowerEnginePriority(): void {
  try {
    if (isMainThread) {
      os.setPriority(0, Math.min(19, os.getPriority(0) + ENGINE_NICENESS));
      return;
    }
    const tid = Number(fs.readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, Math.min(19, os.getPriority(tid) + ENGINE_NICENESS));
  } catch {
    // Not Linux, or not permitted: engines simply run at the host's priority.
  }
}
