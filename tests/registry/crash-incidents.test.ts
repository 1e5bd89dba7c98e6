/**
 * The crash incident of an engine instance (core/registry/crash-incidents.ts) with replicas:
 * each copy crashes and restarts on its own, so the incident must last while any copy is
 * down. Before, one variable held the instance's last crash: copy 1 crashing, then copy 2,
 * then copy 1 coming back cleared copy 2's incident while copy 2 was still down.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { trackCrashes } from "../../core/registry/crash-incidents.ts";

function book() {
  const incidents = new Map<string, string>();
  return {
    incidents,
    recordIncident: (id: string, incident: string) => void incidents.set(id, incident),
    clearIncident: (id: string, incident: string) => incidents.get(id) === incident && incidents.delete(id),
  };
}

describe("crash incidents with replicas", () => {
  it("stay while any copy is down, naming one that is; go when the last is back", () => {
    const host = new EventEmitter();
    const b = book();
    trackCrashes(host, "e", 3, b);
    host.emit("crash", "copy one died", 0);
    host.emit("crash", "copy two died", 1);
    expect(b.incidents.get("e")).toMatch(/^generation 3 .*copy two died$/);
    host.emit("restart", 0);
    expect(b.incidents.get("e")).toMatch(/copy two died$/); // copy 2 is still down
    host.emit("crash", "copy one died again", 0);
    host.emit("restart", 1);
    expect(b.incidents.get("e")).toMatch(/copy one died again$/);
    host.emit("restart", 0);
    expect(b.incidents.has("e")).toBe(false);
  });

  it("one copy (no replica index): recorded at the crash, cleared at the restart", () => {
    const host = new EventEmitter();
    const b = book();
    trackCrashes(host, "e", 1, b);
    host.emit("crash", "died");
    expect(b.incidents.get("e")).toMatch(/died$/);
    host.emit("restart");
    expect(b.incidents.has("e")).toBe(false);
  });

  it("a later incident that is not a crash (a failed load) is never cleared by a restart", () => {
    const host = new EventEmitter();
    const b = book();
    trackCrashes(host, "e", 1, b);
    host.emit("crash", "died", 0);
    host.emit("crash", "died too", 1);
    b.recordIncident("e", "generation 2 failed to load: boom");
    host.emit("restart", 1);
    host.emit("restart", 0);
    expect(b.incidents.get("e")).toBe("generation 2 failed to load: boom");
  });
});
