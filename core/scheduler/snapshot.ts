/** Everything GET /api/scheduler shows, read from the scheduler's parts (nothing is changed). */
import type { Clock } from "./clock.ts";
import type { EngineControls } from "./controls.ts";
import type { Cooldowns } from "./cooldown.ts";
import type { DecisionLog } from "./decisions.ts";
import type { Footprints } from "./footprints.ts";
import type { InstanceTable } from "./instances.ts";
import type { RequestQueue } from "./queue.ts";
import type { TrainingLeases } from "./training.ts";
import type { EngineCatalog } from "./types.ts";

export interface SnapshotParts {
  clock: Clock;
  catalog: EngineCatalog;
  queueSize: number;
  table: InstanceTable;
  queue: RequestQueue;
  controls: EngineControls;
  footprints: Footprints;
  cooldowns: Cooldowns;
  training: TrainingLeases;
  decisions: DecisionLog;
}

export function schedulerSnapshot(parts: SnapshotParts, decisions: number) {
  const { table, controls } = parts;
  const now = parts.clock.now();
  const queuedBy = parts.queue.byEngine();
  const iso = (t?: number) => (t === undefined ? null : new Date(t).toISOString());
  const list = table.list();
  const training = parts.training.list();
  const settings = controls.snapshot();
  return {
    gpu: table.gpuStatus,
    devices: table.devices.map((d) => ({
      id: d.id,
      kind: d.kind,
      name: d.name,
      simulated: d.simulated,
      totalMb: d.totalMb,
      freeMb: Math.round(d.lastFreeMb),
      readAt: iso(d.readAt),
      heldByOthersMb: Math.round(d.othersMb),
      reserveMb: d.reserveMb,
      holdings: list
        .filter((i) => (d.kind === "cpu" ? i.ramMb > 0 : i.gpu === d.id))
        .map((i) => ({
          engine: i.engineId,
          profile: i.profile,
          residentMb: d.kind === "cpu" ? i.ramMb : i.vramMb,
          transientMb: d.kind === "cpu" ? 0 : i.tokensMb,
        }))
        .concat(
          training
            .filter((t) => t.device === d.id)
            .map((t) => ({ engine: `finetune:${t.job}`, profile: "training", residentMb: t.memoryMb, transientMb: 0, job: t.job, state: t.state })),
        ),
    })),
    engines: list.map((i) => ({
      engine: i.engineId,
      profile: i.profile,
      device: i.gpu ?? "cpu",
      state: i.retiring && i.state === "ready" ? "draining" : i.state,
      generation: i.generation,
      stale: i.generation !== parts.catalog.get(i.engineId)?.generation,
      retiring: i.retiring ?? null,
      inFlight: i.inFlight,
      /** Copies of the engine it runs, each in its own worker (`parallelism: "replicas"`), and the RAM booked for all of them. */
      replicas: i.replicas ?? 1,
      ramMb: i.ramMb,
      queued: queuedBy.get(i.engineId) ?? 0,
      pinned: controls.pinned(i.engineId),
      lowVram: controls.isLowVram(i.engineId),
      keepAliveSeconds: controls.keepAliveSeconds(i),
      lastUsed: iso(i.lastUsed),
      unloadAt: iso(i.expiresAt),
    })),
    queue: { length: parts.queue.size, max: parts.queueSize, byEngine: Object.fromEntries(queuedBy) },
    pinned: settings.pinned,
    lowVram: settings.lowVram,
    keepAlive: settings.keepAlive,
    peakNeedsMb: parts.footprints.peaks(),
    ramNeedsMb: parts.footprints.ramNeedsList(),
    preferredProfiles: settings.preferredProfiles,
    cooldowns: parts.cooldowns.list(now),
    training,
    decisions: parts.decisions.list(decisions),
  };
}

export type SchedulerSnapshot = ReturnType<typeof schedulerSnapshot>;
