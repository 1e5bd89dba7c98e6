/**
 * Fresh GPU readings while requests wait: other processes (a desktop LLM) take and free GPU
 * memory, which only a new reading shows. The queue asks `stale` before granting a request
 * that takes per-request GPU memory, and `soon` while requests wait for memory; after each
 * re-read the queue re-decides (`changed`). The CPU and simulated GPUs are never read.
 */
import type { SchedulerConfig } from "../config/schema.ts";
import type { Clock } from "./clock.ts";
import type { InstanceTable } from "./instances.ts";
import type { Instance } from "./types.ts";

export interface RereadsDeps {
  config: SchedulerConfig;
  clock: Clock;
  table: InstanceTable;
  /** No re-reads once the scheduler is closing. */
  closed(): boolean;
  changed(): void;
}

export class Rereads {
  private pending = false;

  constructor(private readonly deps: RereadsDeps) {}

  /**
   * A request that takes per-request GPU memory is granted only on a recent reading of that
   * GPU: an older one may miss what other processes took since. Schedules the re-read.
   */
  stale(inst: Instance): boolean {
    if (!inst.gpu || inst.spec.transientVramMb <= 0) return false;
    const gpu = this.deps.table.device(inst.gpu);
    if (!gpu || gpu.simulated || this.deps.clock.now() - gpu.readAt < this.deps.config.memoryRereadSeconds * 1000) return false;
    this.soon(0);
    return true;
  }

  /** Re-reads the GPUs after `ms` (default `memoryRereadSeconds`), once at a time. */
  soon(ms = this.deps.config.memoryRereadSeconds * 1000): void {
    if (this.pending || this.deps.closed() || this.deps.table.nothingToRead()) return;
    this.pending = true;
    this.deps.clock.timer(ms, () => {
      void this.deps.table.refresh().then(() => {
        this.pending = false;
        this.deps.changed();
      });
    });
  }
}
