/**
 * Sentence-granularity turns on one engine instance (fairness): a lease holder between two
 * sentences hands its slot to a request queued for the same instance and waits here to get
 * it back; the next release on that instance passes its slot to the first one waiting here
 * (ahead of newer queued requests), so requests interleave sentence by sentence in arrival
 * order and a short request never waits for all of a long one.
 */
export class Turns {
  private readonly returning = new Map<number, (() => void)[]>();

  /** Waits for a slot on `instanceId` to be passed back; resolves early (false) on abort. */
  wait(instanceId: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const list = this.returning.get(instanceId) ?? [];
      const onAbort = () => {
        const at = list.indexOf(wake);
        if (at >= 0) list.splice(at, 1);
        if (!list.length) this.returning.delete(instanceId);
        resolve(false);
      };
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      };
      if (signal?.aborted) return resolve(false);
      signal?.addEventListener("abort", onAbort, { once: true });
      list.push(wake);
      this.returning.set(instanceId, list);
    });
  }

  /** Passes a freed slot to the first holder waiting to return; false when none waits. */
  passOn(instanceId: number): boolean {
    const list = this.returning.get(instanceId);
    const wake = list?.shift();
    if (list && !list.length) this.returning.delete(instanceId);
    wake?.();
    return wake !== undefined;
  }
}
