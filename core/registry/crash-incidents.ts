/**
 * An engine instance's crashes as the catalogue's incident (the engine's `errors` in GET
 * /api/engines while it lasts): recorded at a crash, cleared once the crashed worker serves
 * again. With replicas (engine-host.ts) each copy crashes and restarts on its own: the
 * incident stays while any copy is still down, naming one that is, and goes only when the
 * last one is back.
 */
import type { EventEmitter } from "node:events";

export interface IncidentBook {
  recordIncident(id: string, incident: string): void;
  /** Clears the incident if it is still this one; true when it was. */
  clearIncident(id: string, incident: string): boolean;
}

/** Follows `host`'s "crash" (reason, replica) and "restart" (replica) events for engine `id`. */
export function trackCrashes(host: EventEmitter, id: string, generation: number, book: IncidentBook): void {
  const down = new Map<number, string>(); // replica -> its incident
  host.on("crash", (reason: string, replica = 0) => {
    const incident = `generation ${generation} (${new Date().toISOString()}): ${reason}`;
    down.delete(replica);
    down.set(replica, incident);
    book.recordIncident(id, incident);
  });
  // recovered: the crash is history (the log keeps it), not a current error of the engine
  host.on("restart", (replica = 0) => {
    const incident = down.get(replica);
    if (incident === undefined) return;
    down.delete(replica);
    const still = [...down.values()].at(-1);
    if (book.clearIncident(id, incident) && still) book.recordIncident(id, still);
  });
}
