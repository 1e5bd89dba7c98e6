/**
 * One scheduler lease across the parts of a multi-part request (a narrated text: narrator and
 * character parts, each a `pipeline.start`). Consecutive parts on the same engine run under
 * the lease the first of them took, so no queued request runs on that instance in between
 * (a low-VRAM engine keeps its model on the GPU for all of them, and is booked once); a part
 * on another engine gives the lease back first, then takes its own. The parts take no
 * sentence turns: the request holds the instance as one unit. A re-placement inside a part
 * (out of memory, a lost worker: `avoid` is set) gives the held lease back and holds the new
 * one. The caller releases the hold when the request ends, however it ends.
 */
import type { Lease, LeaseRequest } from "../scheduler/lease.ts";

/** Where leases come from: the scheduler, or a hold in front of it. */
export interface LeaseSource {
  acquire(request: LeaseRequest): Promise<Lease>;
}

export class LeaseHold implements LeaseSource {
  private held?: Lease;

  constructor(private readonly scheduler: LeaseSource) {}

  /** The lease for the next part: the held one when it serves the same requested engine, else a fresh one. */
  async acquire(request: LeaseRequest): Promise<Lease> {
    const held = this.held;
    if (held && !request.avoid?.length && (held.requestedEngineId ?? held.engineId) === request.engineId) return part(held);
    this.release();
    const lease = await this.scheduler.acquire(request);
    this.held = lease;
    return part(lease);
  }

  /** Gives the held lease back (idempotent). */
  release(): void {
    const held = this.held;
    this.held = undefined;
    held?.release();
  }
}

/** The held lease as one part sees it: releasing it is the hold's job, and it takes no turns. */
function part(lease: Lease): Lease {
  return { ...lease, release: () => {}, yieldTurn: undefined };
}
