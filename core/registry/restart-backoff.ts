/**
 * When a crashed engine worker is restarted (engine-host.ts): exponential backoff between
 * attempts, a limit on consecutive crashes, and the promise calls wait on while the worker is
 * down (resolved once it serves again, rejected when the instance is given up).
 */
export interface RestartPolicy {
  /** Consecutive crashes tolerated before the instance is given up (emits "exit"). */
  maxRestarts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { maxRestarts: 5, initialDelayMs: 250, maxDelayMs: 30_000 };

export class RestartBackoff {
  readonly policy: RestartPolicy;
  /** Consecutive crashes since the worker last proved healthy. */
  crashes = 0;
  private revived?: { promise: Promise<void>; resolve(): void; reject(err: Error): void };

  constructor(policy: Partial<RestartPolicy> = {}) {
    this.policy = { ...DEFAULT_RESTART_POLICY, ...policy };
  }

  /**
   * Counts a crash and returns how long to wait before the next restart, or undefined when the
   * crashes exceed `maxRestarts` (the instance is to be given up).
   */
  next(): number | undefined {
    this.crashes++;
    if (this.crashes > this.policy.maxRestarts) return undefined;
    if (!this.revived) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => {});
      this.revived = { promise, resolve, reject };
    }
    return Math.min(this.policy.initialDelayMs * 2 ** (this.crashes - 1), this.policy.maxDelayMs);
  }

  /** What calls wait on while the worker is being restarted (undefined when none is pending). */
  get revival(): Promise<void> | undefined {
    return this.revived?.promise;
  }

  /** The restarted worker serves again: the waiting calls proceed. */
  revive(): void {
    this.revived?.resolve();
    this.revived = undefined;
  }

  /** The instance is gone for good: the waiting calls fail with `err`. */
  giveUp(err: Error): void {
    this.revived?.reject(err);
  }

  /** A completed request shows the (restarted) worker is healthy: the crash count starts over. */
  healthy(): void {
    this.crashes = 0;
  }
}
