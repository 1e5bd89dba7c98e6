/** Load-failure cooldown per `engine:profile`: skipped for a while that doubles up to a limit. */

export class Cooldowns {
  private readonly entries = new Map<string, { until: number; lastMs: number; error: string }>();

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** Records a failed load; returns how long the profile is now skipped. */
  fail(key: string, now: number, error: string): number {
    const prev = this.entries.get(key);
    const ms = prev ? Math.min(this.maxMs, prev.lastMs * 2) : Math.min(this.maxMs, this.initialMs);
    this.entries.set(key, { until: now + ms, lastMs: ms, error });
    return ms;
  }

  /** Milliseconds the profile is still skipped (0 when usable). */
  remaining(key: string, now: number): number {
    const e = this.entries.get(key);
    return e ? Math.max(0, e.until - now) : 0;
  }

  lastError(key: string): string | undefined {
    return this.entries.get(key)?.error;
  }

  /** A successful load resets the doubling. */
  clear(key: string): void {
    this.entries.delete(key);
  }

  list(now: number): { key: string; remainingMs: number; error: string }[] {
    return [...this.entries].filter(([, e]) => e.until > now).map(([key, e]) => ({ key, remainingMs: e.until - now, error: e.error }));
  }
}
