/**
 * Granting a lease on a loaded instance: the slot and the request's transient memory are
 * booked on the instance, a fallback is recorded with its reason, and the lease's calls give
 * the slot back (`release`), pass it on between sentences (`yieldTurn`, turns.ts) or report
 * an out-of-memory (footprints.ts).
 */
import type { Manifest } from "../../packages/sdk/src/index.ts";
import type { Candidate } from "./chain.ts";
import type { Clock } from "./clock.ts";
import type { RecordDecision } from "./decisions.ts";
import type { Footprints } from "./footprints.ts";
import type { Lease, LeaseRequest } from "./lease.ts";
import type { SchedulerMetrics } from "./metrics.ts";
import type { Placement } from "./placement.ts";
import { Turns } from "./turns.ts";
import type { Instance } from "./types.ts";

export type LeasePlacement = Extract<Placement, { kind: "lease" }>;

export interface LeaseGrantsDeps {
  clock: Clock;
  metrics: SchedulerMetrics;
  record: RecordDecision;
  footprints: Footprints;
  /** The catalogue's manifest (for an instance loaded without one). */
  manifest(engineId: string): Manifest | undefined;
  /** Starts an instance's idle timer (loader.ts). */
  armExpiry(inst: Instance): void;
  /** A slot came back: re-decide for the queue. */
  changed(): void;
  /**
   * Between two sentences: gives `inst`'s slot to the first queued request it would serve
   * (queue.ts); true when it was handed over.
   */
  handOver(inst: Instance, tokensMb: number): boolean;
}

export class LeaseGrants {
  private readonly turns = new Turns();

  constructor(private readonly deps: LeaseGrantsDeps) {}

  grant(p: LeasePlacement, request: LeaseRequest, chain: Candidate[], since: number): Lease {
    const { clock, metrics } = this.deps;
    const inst = p.instance;
    inst.inFlight++;
    inst.tokensMb += inst.gpu ? inst.spec.transientVramMb : 0;
    inst.lastUsed = clock.now();
    inst.cancelExpiry?.();
    inst.cancelExpiry = inst.expiresAt = undefined;
    if (request.keepAliveSeconds !== undefined) inst.keepAliveOverride = request.keepAliveSeconds;
    metrics.leaseWait.observe((clock.now() - since) / 1000);
    const fallbackReason = this.fallback(p, request, chain);
    const started = clock.now();
    let released = false;
    let holding = true;
    const tokens = inst.gpu ? inst.spec.transientVramMb : 0;
    return {
      engineId: inst.engineId,
      profile: inst.spec,
      engine: inst.host!,
      manifest: inst.manifest ?? this.deps.manifest(inst.engineId)!,
      device: inst.device,
      fallbackReason,
      requestedEngineId: request.engineId,
      release: () => {
        if (released) return;
        released = true;
        if (!holding) return; // handed over, not back yet: no slot to give
        if (this.turns.passOn(inst.id)) return; // the slot goes to a holder waiting for its turn
        inst.inFlight--;
        inst.tokensMb -= inst.gpu ? inst.spec.transientVramMb : 0;
        inst.lastUsed = clock.now();
        metrics.synthesis.observe({ engine: inst.engineId }, (clock.now() - started) / 1000);
        // queued requests take the instance first; keep-alive 0 means "after the last lease ends"
        this.deps.changed();
        this.deps.armExpiry(inst);
      },
      yieldTurn: async (signal?: AbortSignal) => {
        if (released || !holding || !this.deps.handOver(inst, tokens)) return;
        holding = false;
        holding = await this.turns.wait(inst.id, signal);
      },
      reportOutOfMemory: (neededMb?: number, kind?: "vram" | "ram") =>
        kind === "ram" ? this.deps.footprints.afterRamLimit(inst, neededMb) : this.deps.footprints.afterSynthesisOom(inst, neededMb),
    };
  }

  /** Down the chain: past its head, or a re-placement after profiles failed the request (`avoid`: out of memory, lost worker). */
  private fallback(p: LeasePlacement, request: LeaseRequest, chain: Candidate[]): string | undefined {
    if (p.candidate === chain[0] && !request.avoid?.length) return undefined;
    const inst = p.instance;
    const passed =
      p.candidate !== chain[0]
        ? `${chain[0]?.key ?? request.engineId} unavailable (${p.misses[0] ?? inst.note ?? "busy"})`
        : `${request.avoid!.join(", ")} failed this request`;
    const reason = `${passed}; served by ${p.candidate.key}`;
    this.deps.metrics.fallbacks.inc({ requested: request.engineId, engine: inst.engineId, profile: inst.profile });
    this.deps.record("fallback", "fallback", {
      engine: inst.engineId,
      profile: inst.profile,
      device: inst.gpu ?? "cpu",
      requested: request.engineId,
      detail: reason,
    });
    return reason;
  }
}
