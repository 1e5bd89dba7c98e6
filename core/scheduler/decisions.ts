/** Scheduling decisions as values: a reason code each, logged and kept for GET /api/scheduler. */
import type { Logger } from "pino";

export const REASONS = {
  resident: "served by a loaded engine",
  fits: "fits in free memory",
  evicted_idle: "fits after evicting idle engines",
  fallback: "served down the fallback chain",
  wait_load: "waiting for a load in progress",
  wait_capacity: "waiting for a running request to finish",
  wait_memory: "waiting for busy engines to release memory",
  wait_loader: "waiting for another load decision to finish",
  queue_full: "the queue is full",
  deadline: "waited past the request deadline",
  cancelled: "the client went away while waiting",
  no_fit: "no profile fits on any device, even after evicting everything idle",
  cooldown: "the profile failed to load recently",
  no_gpu: "no usable GPU",
  no_longer_fits: "free memory shrank before the load (re-read)",
  load_failed: "the engine failed to load",
  oom_load: "out of memory while loading",
  oom_synthesis: "out of memory while synthesising",
  memory_limit: "stopped past its RAM limit; its measured RAM need replaces the declared one",
  loaded: "engine loaded",
  learned_footprint: "measured VRAM replaces the declared estimate",
  keep_alive_expired: "idle past its keep-alive",
  evicted: "evicted to make room",
  stale_generation: "plugin updated: old generation drained",
  low_vram_switch: "low-VRAM mode changed",
  profile_switch: "the preferred profile changed (e.g. DeepSpeed toggled)",
  unload_requested: "unloaded on request",
  worker_exit: "engine worker exited unexpectedly",
  replica_gave_up: "a copy of the engine gave up restarting: the instance retires (its running requests finish on the copies left)",
  resumed_after_crash: "the engine's worker died mid-request; the undelivered audio is made again",
  resumed_after_hang: "the engine's worker hung mid-request (no audio, no answer to a ping) and was killed; the undelivered audio is made again",
  memory_not_returned: "memory did not come back within the timeout after unload",
  shutdown: "scheduler closing",
  training_lease: "a fine-tune job holds (or is clearing) the GPU",
  training_refused: "a fine-tune job's GPU lease cannot be had",
  training_released: "a fine-tune job gave the GPU back",
} as const;

export type Reason = keyof typeof REASONS;

export type Action = "lease" | "load" | "evict" | "unload" | "queue" | "fallback" | "refuse" | "oom" | "learn" | "cooldown";

export interface Decision {
  seq: number;
  at: string;
  action: Action;
  reason: Reason;
  engine: string;
  profile?: string;
  device?: string;
  /** The engine the request asked for, when different. */
  requested?: string;
  detail?: string;
}

export class DecisionLog {
  private readonly items: Decision[] = [];
  private readonly listeners = new Set<(d: Decision) => void>();
  private seq = 0;

  constructor(private readonly size: number) {}

  add(d: Omit<Decision, "seq">): Decision {
    const full = { seq: ++this.seq, ...d };
    this.items.push(full);
    if (this.items.length > this.size) this.items.shift();
    for (const listener of this.listeners) {
      try {
        listener(full);
      } catch {
        // a listener's failure never reaches the scheduler
      }
    }
    return full;
  }

  /** Calls `listener` with each decision as it is made (GET /api/scheduler/events); returns the unsubscribe. */
  subscribe(listener: (d: Decision) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Most recent last. */
  list(limit = this.size): Decision[] {
    return limit > 0 ? this.items.slice(-limit) : [];
  }
}

export type DecisionDetail = Omit<Decision, "seq" | "at" | "action" | "reason">;
export type DecisionLevel = "info" | "warn" | "debug";

/** How every part of the scheduler records a decision: logged with its reason, and kept. */
export type RecordDecision = (action: Action, reason: Reason, d: DecisionDetail, level?: DecisionLevel) => void;

export function decisionRecorder(log: Logger, decisions: DecisionLog, now: () => number): RecordDecision {
  return (action, reason, d, level = "info") => {
    decisions.add({ at: new Date(now()).toISOString(), action, reason, ...d });
    log[level](
      { action, reason, engine: d.engine, profile: d.profile, device: d.device, requested: d.requested, detail: d.detail },
      `${action} ${d.engine}${d.profile ? `:${d.profile}` : ""}: ${REASONS[reason]}`,
    );
  };
}
