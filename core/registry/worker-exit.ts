/**
 * Why an engine worker died (engine-host.ts): notes taken before its exit (killed for a hang by
 * engine-calls.ts, or for passing its memory limit by the link) decide how the exit is reported
 * and how the calls in flight fail.
 */
import { constants as osConstants } from "node:os";

export interface MemoryNote {
  detail: string;
  usedMb: number;
}

export interface WorkerDeath {
  /** For logs, the "crash" event and the failed calls. */
  reason: string;
  kind: "hang" | "crash";
  /** Set when the worker was stopped for memory: its calls fail with a memory error. */
  memory?: MemoryNote;
}

export class ExitNotes {
  /** Set when the worker was killed for not answering; its exit then fails calls as a hang. */
  hang?: string;
  /** Set when the worker passed its memory limit; its exit then fails calls with a memory error. */
  memory?: MemoryNote;

  /** Explains the exit of the worker (exit `code`) from the notes, and clears them. */
  take(code: number | null): WorkerDeath {
    const { memory, hang } = this;
    this.memory = this.hang = undefined;
    const reason = memory
      ? `engine stopped for memory (${memory.detail})`
      : hang
        ? `engine worker hung (${hang}) and was killed`
        : `engine worker crashed (${describeExit(code)})`;
    return { reason, kind: hang ? "hang" : "crash", memory };
  }
}

/** `exit code 3`, or `killed by SIGKILL, exit code 137` for the 128 + signal codes links report. */
export function describeExit(code: number | null): string {
  const signal = code !== null && code > 128 ? Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0] : undefined;
  return signal ? `killed by ${signal}, exit code ${code}` : `exit code ${code}`;
}
