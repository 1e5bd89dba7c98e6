/**
 * A clock for the scheduler's tests and the simulator (tests/bench/sim): time moves only when
 * told to, so keep-alive, deadlines, load times and restarts are driven, never waited for.
 */
import type { Clock } from "../../core/scheduler/clock.ts";

/** Lets every pending promise continuation run (one macrotask turn). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock that moves only when told to; timers fire in time order, ties in creation order. */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  timer(ms: number, fn: () => void): () => void {
    const entry: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    // keep sorted: binary search for the insertion point
    let lo = 0;
    let hi = this.pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const p = this.pending[mid]!;
      if (p.at < entry.at || (p.at === entry.at && p.seq < entry.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.pending.splice(lo, 0, entry);
    return () => {
      const i = this.pending.indexOf(entry);
      if (i >= 0) this.pending.splice(i, 1);
    };
  }

  /** Time of the next timer, if any. */
  next(): number | undefined {
    return this.pending[0]?.at;
  }

  get timers(): number {
    return this.pending.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.t + ms);
  }

  async advanceTo(target: number): Promise<void> {
    await flush();
    while (this.pending.length && this.pending[0]!.at <= target) {
      const entry = this.pending.shift()!;
      this.t = Math.max(this.t, entry.at);
      entry.fn();
      await flush();
    }
    this.t = Math.max(this.t, target);
    await flush();
  }
}
