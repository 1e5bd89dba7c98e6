/** `npm run bench`: every benchmark, one after the other, each printing its own table. */
import { benchHost } from "./host.ts";
import { benchScheduler } from "./scheduler.ts";
import { benchLoad } from "./load.ts";
import { printPiperBench } from "./piper.ts";
import { benchWyoming } from "./wyoming.ts";
import { benchFinetune } from "./finetune.ts";
import { benchTtfa } from "./ttfa.ts";
import { benchFairness } from "./fairness.ts";
import { benchFaults } from "./faults.ts";
import { closeHttpAgent } from "./stats.ts";
import { closeEncoderPool } from "../../core/audio/encoders/index.ts";

const only = process.argv.slice(2);
const benches: [string, () => Promise<unknown>][] = [
  ["host", () => benchHost()],
  ["scheduler", () => benchScheduler()],
  ["load", () => benchLoad()],
  ["ttfa", () => benchTtfa()],
  ["fairness", () => benchFairness()],
  ["piper", () => printPiperBench()],
  ["wyoming", () => benchWyoming()],
  ["finetune", () => benchFinetune()],
  ["faults", () => benchFaults()],
];

for (const [name, run] of benches) {
  if (only.length && !only.includes(name)) continue;
  try {
    await run();
  } catch (err) {
    console.error(`bench ${name} failed:`, err);
    process.exitCode = 1;
  }
}
closeHttpAgent();
await closeEncoderPool();

// Every bench closes what it opened, so the process ends by itself. If something is still open
// (a socket, a timer, a worker: it once kept `npm run bench` alive after the last table), say
// what it is, then end anyway: a bench run must not hang.
const leftover = setTimeout(() => {
  const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles().filter((h) => h !== leftover);
  const described = handles.map((h) => {
    const o = h as {
      constructor?: { name?: string };
      remoteAddress?: string;
      remotePort?: number;
      localPort?: number;
      threadId?: number;
      pid?: number;
      spawnfile?: string;
      _idleTimeout?: number;
    };
    const where = o.remotePort
      ? ` ${o.remoteAddress}:${o.remotePort}`
      : o.localPort
        ? ` local ${o.localPort}`
        : o.threadId !== undefined
          ? ` thread ${o.threadId}`
          : o.pid
            ? ` pid ${o.pid} ${o.spawnfile ?? ""}`
            : o._idleTimeout
              ? ` ${o._idleTimeout} ms`
              : "";
    return `${o.constructor?.name ?? typeof h}${where}`;
  });
  console.error(`bench: still open after the last bench, ending anyway: ${described.join(", ") || "(nothing listed)"}`);
  process.exit();
}, 5000);
leftover.unref();
