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

const only = process.argv.slice(2);
const benches: [string, () => Promise<unknown>][] = [
  ["host", () => benchHost()], ["scheduler", () => benchScheduler()], ["load", () => benchLoad()], ["ttfa", () => benchTtfa()], ["fairness", () => benchFairness()],
  ["piper", () => printPiperBench()], ["wyoming", () => benchWyoming()], ["finetune", () => benchFinetune()], ["faults", () => benchFaults()],
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
