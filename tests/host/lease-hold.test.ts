/**
 * LeaseHold (core/synth/lease-hold.ts): the parts of a multi-part request share one lease per
 * run of same-engine parts. A recording lease source stands in for the scheduler: it counts
 * acquisitions and releases, so the test sees exactly which leases were taken and given back.
 */
import { describe, expect, it } from "vitest";
import { LeaseHold, type LeaseSource } from "../../core/synth/lease-hold.ts";
import type { Lease, LeaseRequest } from "../../core/scheduler/lease.ts";

function recordingSource() {
  const log: string[] = [];
  let n = 0;
  const source: LeaseSource = {
    async acquire(request: LeaseRequest): Promise<Lease> {
      const id = `${request.engineId}#${++n}`;
      log.push(`acquire ${id}${request.avoid?.length ? ` avoid ${request.avoid.join(",")}` : ""}`);
      return {
        engineId: request.engineId,
        requestedEngineId: request.engineId,
        profile: { name: "cpu", device: "cpu" } as Lease["profile"],
        engine: { listVoices: async () => [], synthesize: async function* () {}, synthesizeMore: async function* () {} },
        manifest: { id: request.engineId } as Lease["manifest"],
        device: { kind: "cpu", index: 0, simulated: false },
        release: () => log.push(`release ${id}`),
        yieldTurn: async () => void log.push(`turn ${id}`),
      };
    },
  };
  return { source, log };
}

describe("LeaseHold", () => {
  it("takes one lease for consecutive parts on the same engine, and gives it back once, at the end", async () => {
    const { source, log } = recordingSource();
    const hold = new LeaseHold(source);
    const a = await hold.acquire({ engineId: "xtts" });
    a.release(); // a part ending gives nothing back
    const b = await hold.acquire({ engineId: "xtts" });
    b.release();
    expect(b.yieldTurn).toBeUndefined(); // the parts take no sentence turns
    expect(log).toEqual(["acquire xtts#1"]);
    hold.release();
    hold.release();
    expect(log).toEqual(["acquire xtts#1", "release xtts#1"]);
  });

  it("gives the held lease back before a part on another engine takes its own", async () => {
    const { source, log } = recordingSource();
    const hold = new LeaseHold(source);
    await hold.acquire({ engineId: "flite" });
    await hold.acquire({ engineId: "xtts" });
    await hold.acquire({ engineId: "xtts" });
    await hold.acquire({ engineId: "flite" });
    hold.release();
    expect(log).toEqual(["acquire flite#1", "release flite#1", "acquire xtts#2", "release xtts#2", "acquire flite#3", "release flite#3"]);
  });

  it("a re-placement inside a part (avoid) gives the held lease back and holds the new one", async () => {
    const { source, log } = recordingSource();
    const hold = new LeaseHold(source);
    await hold.acquire({ engineId: "xtts" });
    await hold.acquire({ engineId: "xtts", avoid: ["xtts:gpu"] });
    await hold.acquire({ engineId: "xtts" }); // the next part keeps the re-placed lease
    hold.release();
    expect(log).toEqual(["acquire xtts#1", "release xtts#1", "acquire xtts#2 avoid xtts:gpu", "release xtts#2"]);
  });
});
