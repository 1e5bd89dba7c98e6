/**
 * The placement ladder, a pure function of the current state: for the request's chain, in
 * order, serve from a loaded instance; else load a profile that fits; else evict idle engines
 * and load; else wait if it could fit once busy engines finish; else try the fallbacks the
 * same way; else refuse, saying what was needed, what was free and who holds it.
 */
import type { Candidate } from "./chain.ts";
import type { Reason } from "./decisions.ts";
import type { Device } from "./devices.ts";
import { chooseVictims, evictionCost, type EvictionCandidate } from "./eviction.ts";
import { capacityMb, freeMb, heldOn } from "./fit.ts";
import { capacity, copiesThatFit } from "./replicas.ts";
import type { Instance } from "./types.ts";

export interface PlacementView {
  now: number;
  /** CPU first, then GPUs. */
  devices: Device[];
  instances: Instance[];
  /** A load (or the evictions before it) is in progress: other loads wait. */
  loadBusy: boolean;
  maxLoaded: number;
  pinned(engineId: string): boolean;
  cooldownMs(key: string): number;
  /** Why the last load of `key` failed, while it cools down. */
  cooldownError?(key: string): string | undefined;
  generation(engineId: string): number | undefined;
  /**
   * What loading the candidate in `copies` needs now (Footprints.loadNeed): resident + transient
   * VRAM (at least the engine's recorded peak on a GPU), and RAM per copy (declared, or what one
   * held when stopped past its limit, ram-needs.ts) times the copies.
   */
  loadNeed(candidate: Candidate, copies: number): { gpuMb: number; ramMb: number };
  /** Why GPU profiles on a device are not offered now (a training lease, core/scheduler/training.ts). */
  blocked?(deviceId: string): string | undefined;
  /** VRAM an engine was shown to need at its peak (recorded after an OOM while synthesising), for the refusal's wording. */
  peakNeedMb?(engineId: string): number | undefined;
  /** Copies of the engine an instance of the candidate runs at most (replicas.ts, the core budget); 1 when absent. */
  replicas?(candidate: Candidate): number;
}

export type Placement =
  | { kind: "lease"; instance: Instance; candidate: Candidate; reason: "resident"; misses: string[] }
  | { kind: "load"; candidate: Candidate; gpu?: Device; victims: Instance[]; reason: "fits" | "evicted_idle"; misses: string[]; replicas?: number }
  | { kind: "evict"; candidate: Candidate; victims: Instance[] }
  | { kind: "wait"; reason: Reason; candidate: Candidate }
  | { kind: "refuse"; reason: Reason; message: string; retryAfterMs?: number };

/** Instances that may take new leases. */
export function usable(i: Instance, view: Pick<PlacementView, "generation">): boolean {
  return i.state !== "unloading" && !i.retiring && i.generation === view.generation(i.engineId);
}

type Option = { gpu?: Device; victims: Instance[]; cost: number; free: number };

function evaluate(c: Candidate, view: PlacementView, misses: string[]): { fit?: Option; evict?: Option; waitable: boolean; replicas: number } {
  const cpu = view.devices[0]!;
  const gpus = c.profile.device === "cuda" ? view.devices.filter((d) => d.kind === "cuda") : [undefined];
  // After an OOM while synthesising, loadNeed holds every GPU profile of the engine to its recorded peak; a miss names it.
  const peak = c.profile.device === "cuda" ? view.peakNeedMb?.(c.engineId) : undefined;
  const perCopy = view.loadNeed(c, 1).ramMb;
  const ramFree = freeMb(cpu, heldOn(cpu, view.instances));
  // replicas: as many copies as fit in the free RAM; when not even one does, one copy's need decides
  const copies = copiesThatFit(view.replicas?.(c) ?? 1, perCopy, ramFree);
  const need = view.loadNeed(c, copies);
  const measuredRam =
    (copies > 1 ? ` (${copies} replicas x ${Math.round(perCopy)} MB)` : "") +
    (perCopy > c.profile.ramMb ? " (measured when it was stopped past its RAM limit)" : "");
  const loaded = view.instances.filter((i) => i.state !== "unloading").length;
  const slots = Math.max(0, loaded - view.maxLoaded + 1);
  const pinnedHeld = (d: Device) =>
    heldOn(
      d,
      view.instances.filter((i) => i.state !== "unloading" && view.pinned(i.engineId) && usable(i, view)),
    );
  let fit: Option | undefined;
  let evict: Option | undefined;
  let waitable = false;
  for (const gpu of gpus) {
    const blocked = gpu && view.blocked?.(gpu.id);
    if (blocked) {
      misses.push(`${c.key} not offered: ${blocked}`);
      continue;
    }
    const gpuFree = gpu ? freeMb(gpu, heldOn(gpu, view.instances)) : Infinity;
    const short = { gpuMb: Math.max(0, need.gpuMb - gpuFree), ramMb: Math.max(0, need.ramMb - ramFree), slots };
    if (!short.gpuMb && !short.ramMb && !short.slots) {
      if (!fit || gpuFree > fit.free) fit = { gpu, victims: [], cost: 0, free: gpuFree };
      continue;
    }
    const idle = view.instances.filter((i) => i.state === "ready" && i.inFlight === 0 && (!view.pinned(i.engineId) || !usable(i, view)));
    const cands: EvictionCandidate[] = idle.map((i) => ({
      id: i.id,
      gpuMb: gpu && i.gpu === gpu.id ? i.vramMb : 0,
      ramMb: i.ramMb,
      loadSeconds: i.spec.loadSeconds,
      idleMs: view.now - i.lastUsed,
      stale: !usable(i, view),
    }));
    const ids = chooseVictims(cands, short);
    if (ids) {
      const victims = ids.map((id) => idle.find((i) => i.id === id)!);
      const cost = cands.filter((x) => ids.includes(x.id)).reduce((s, x) => s + evictionCost(x), 0);
      if (!evict || cost < evict.cost) evict = { gpu, victims, cost, free: gpuFree };
      continue;
    }
    const gpuCap = gpu ? capacityMb(gpu, pinnedHeld(gpu)) : Infinity;
    const ramCap = capacityMb(cpu, pinnedHeld(cpu));
    if (need.gpuMb <= gpuCap && need.ramMb <= ramCap) {
      waitable = true;
      continue;
    }
    const holders = view.instances.filter((i) => (gpu ? i.gpu === gpu.id : i.ramMb > 0)).map((i) => `${i.key} ${gpu ? i.vramMb + i.tokensMb : i.ramMb} MB`);
    const where = gpu ?? cpu;
    misses.push(
      `${c.key} needs ${gpu ? need.gpuMb : need.ramMb} MB on ${where.id}${gpu && peak === need.gpuMb ? " (its peak, recorded at an out-of-memory while synthesising)" : gpu ? "" : measuredRam}; ${Math.max(0, Math.round(gpu ? gpuFree : ramFree))} MB free ` +
        `(total ${where.totalMb}, others ${Math.round(where.othersMb)}, reserve ${where.reserveMb}${holders.length ? `, chorus: ${holders.join(", ")}` : ""})`,
    );
  }
  if (c.profile.device === "cuda" && !gpus.length) misses.push(`${c.key} needs a GPU; none usable`);
  return { fit, evict, waitable, replicas: copies };
}

export function decide(chain: Candidate[], view: PlacementView): Placement {
  const misses: string[] = [];
  let cooldown: number | undefined;
  for (const own of [true, false]) {
    let wait: Placement | undefined;
    // A GPU profile that fits once running requests end is worth waiting for: loading the
    // engine's CPU profile instead would make that slow instance the engine's only one, and
    // every later request to the engine would queue behind it (the long-texts slowdown).
    let gpuSoon = false;
    for (const c of chain) {
      if (c.own !== own) continue;
      const live = liveInstance(c.engineId, chain, view);
      if (live) {
        // one live instance per engine: it serves every request for that engine
        if (live.key !== c.key) {
          const lower = chain.findIndex((x) => x.key === live.key) > chain.indexOf(c);
          if (lower && !view.loadBusy && view.cooldownMs(c.key) <= 0) {
            // an idle engine on a lower profile moves up when a preferred one now fits outright
            if (live.state === "ready" && live.inFlight === 0) {
              const others = { ...view, instances: view.instances.filter((i) => i !== live) };
              const { fit: up, replicas } = evaluate(c, others, []);
              if (up) return { kind: "load", candidate: c, gpu: up.gpu, victims: [live], reason: "fits", misses, replicas };
            } else if (live.state === "ready" && c.profile.device === "cuda" && live.spec.device === "cpu") {
              // a busy CPU instance of a GPU engine does not keep the engine on the CPU: once the
              // GPU profile fits beside it, load it; it takes the queue and the CPU one idles out
              const { fit: up, replicas } = evaluate(c, view, []);
              if (up) return { kind: "load", candidate: c, gpu: up.gpu, victims: [], reason: "fits", misses, replicas };
            }
          }
          continue;
        }
        if (live.state === "loading") wait ??= { kind: "wait", reason: "wait_load", candidate: c };
        else if (live.inFlight >= capacity(live)) wait ??= { kind: "wait", reason: "wait_capacity", candidate: c };
        else {
          const short = tokenShortfall(live, view);
          if (short <= 0) return { kind: "lease", instance: live, candidate: c, reason: "resident", misses };
          // per-request memory: evict idle engines on that GPU rather than wait for their keep-alive
          const victims = view.loadBusy ? undefined : tokenVictims(live, short, view);
          if (victims) return { kind: "evict", candidate: c, victims };
          wait ??= { kind: "wait", reason: "wait_memory", candidate: c };
        }
        continue;
      }
      const cd = view.cooldownMs(c.key);
      if (cd > 0) {
        cooldown = Math.min(cooldown ?? Infinity, cd);
        const why = view.cooldownError?.(c.key);
        misses.push(`${c.key} is cooling down after a failed load (${Math.ceil(cd / 1000)} s left)${why ? `: ${why}` : ""}`);
        continue;
      }
      if (gpuSoon && c.profile.device === "cpu") continue;
      const { fit, evict, waitable, replicas } = evaluate(c, view, misses);
      if (fit || evict) {
        if (view.loadBusy) wait ??= { kind: "wait", reason: "wait_loader", candidate: c };
        else if (fit) return { kind: "load", candidate: c, gpu: fit.gpu, victims: [], reason: "fits", misses, replicas };
        else return { kind: "load", candidate: c, gpu: evict!.gpu, victims: evict!.victims, reason: "evicted_idle", misses, replicas };
      } else if (waitable) {
        wait ??= { kind: "wait", reason: "wait_memory", candidate: c };
        if (c.profile.device === "cuda") gpuSoon = true;
      }
    }
    if (wait) return wait;
  }
  if (cooldown !== undefined && misses.every((m) => m.includes("cooling down"))) {
    return { kind: "refuse", reason: "cooldown", message: misses.join("; "), retryAfterMs: cooldown };
  }
  return { kind: "refuse", reason: "no_fit", message: misses.join("; ") || "no placement profile", retryAfterMs: cooldown };
}

/** The engine's usable instance on the earliest profile of the chain (a move up may leave two). */
function liveInstance(engineId: string, chain: Candidate[], view: PlacementView): Instance | undefined {
  let best: Instance | undefined;
  let bestAt = Infinity;
  for (const i of view.instances) {
    if (i.engineId !== engineId || !usable(i, view)) continue;
    const at = chain.findIndex((x) => x.key === i.key);
    const rank = at < 0 ? chain.length : at;
    if (!best || rank < bestAt) [best, bestAt] = [i, rank];
  }
  return best;
}

/** MB of per-request memory missing for one more request on `i` (<= 0: fits). */
function tokenShortfall(i: Instance, view: PlacementView): number {
  if (!i.gpu || i.spec.transientVramMb <= 0) return 0;
  const gpu = view.devices.find((d) => d.id === i.gpu);
  return gpu ? i.spec.transientVramMb - freeMb(gpu, heldOn(gpu, view.instances)) : 0;
}

function tokenVictims(live: Instance, short: number, view: PlacementView): Instance[] | undefined {
  const idle = view.instances.filter(
    (i) => i !== live && i.gpu === live.gpu && i.state === "ready" && i.inFlight === 0 && (!view.pinned(i.engineId) || !usable(i, view)),
  );
  const cands = idle.map((i) => ({
    id: i.id,
    gpuMb: i.vramMb,
    ramMb: 0,
    loadSeconds: i.spec.loadSeconds,
    idleMs: view.now - i.lastUsed,
    stale: !usable(i, view),
  }));
  const ids = chooseVictims(cands, { gpuMb: short, ramMb: 0, slots: 0 });
  return ids?.length ? ids.map((id) => idle.find((i) => i.id === id)!) : undefined;
}
