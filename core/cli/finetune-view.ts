/** The terminal view of a fine-tune job, shared by local runs and runs through a server. */
import { progressLine, summaryText } from "../finetune/runner/render.ts";
import type { JobState } from "../finetune/runner/state.ts";

/** Prints progress (a rewritten line on a terminal, a line every few seconds otherwise) and events. */
export function terminalView(json: boolean) {
  const tty = process.stderr.isTTY;
  let last = 0;
  let lastEpoch = -1;
  const line = (text: string) => process.stderr.write(tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
  return {
    event(e: { event: string; [k: string]: unknown }) {
      if (json) return;
      if (e.event === "lease")
        line(
          `GPU ${e.device} (${e.deviceName}) leased: ${e.memoryMb} MB of ${e.totalMb} MB; Chorus's engines there serve from CPU profiles or fallbacks until the job ends`,
        );
      else if (e.event === "replan" || e.event === "give-up" || e.event === "warning") line(`${e.event}: ${String(e.message)}`);
      else if (e.event === "attempt" && Number(e.attempt) > 1)
        line(`attempt ${e.attempt}: ${e.resumeFrom ? `resuming from ${e.resumeFrom}` : "no checkpoint yet: restarting the epoch"}`);
      else if (e.event === "lease-refused") line(`GPU lease refused: ${String(e.reason)}`);
    },
    message(m: { type: string; [k: string]: unknown }) {
      if (!json && m.type === "checkpoint") line(`checkpoint at step ${m.globalStep} (${m.reason}): ${m.path}`);
      if (!json && m.type === "oom")
        line(
          `out of memory at batch ${m.batchSize}, longest clip ${m.longestClipSeconds} s: peak ${m.peakAllocatedMb} MB allocated${m.failedAllocationMb ? `, ${m.failedAllocationMb} MB more asked for` : ""}`,
        );
    },
    state(s: JobState) {
      if (json || (s.status !== "running" && s.status !== "paused")) return;
      const now = Date.now();
      if (tty) process.stderr.write(`\r\x1b[2K${progressLine(s)}`);
      else if (now - last >= 2000 || s.epoch !== lastEpoch) {
        last = now;
        lastEpoch = s.epoch;
        process.stderr.write(`${progressLine(s)}\n`);
      }
    },
    end(s: JobState) {
      if (tty && !json) process.stderr.write("\n");
      if (!json) process.stderr.write(`${progressLine(s)}\n`);
      process.stdout.write(json ? `${JSON.stringify(s, null, 2)}\n` : `${summaryText(s, `chorus finetune run --resume ${s.id}`)}\n`);
    },
  };
}
