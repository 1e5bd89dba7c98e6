/**
 * Credits go back to the engine in batches (synthesis-stream.ts, docs/protocol.md "Credits"):
 * half the window at a time while chunks are queued, and at once whatever is owed when the
 * queue runs dry, so the engine is never left without credit while the host waits for audio;
 * the window itself is unchanged (a chunk beyond it is still a protocol violation).
 */
import { describe, expect, it } from "vitest";
import { SynthesisStream } from "../../core/registry/synthesis-stream.ts";

const chunk = () => ({ sampleRate: 22050, samples: new Int16Array(16) });

function stream() {
  const grants: number[] = [];
  const violations: string[] = [];
  const s = new SynthesisStream({ timeoutSeconds: 60, onTimeout: () => {}, grant: (n) => grants.push(n), onViolation: (r) => violations.push(r), credits: 8 });
  const it = s.iterate(new AbortController().signal, () => {});
  return { s, it, grants, violations };
}

describe("credit batching", () => {
  it("a burst of a full window is paid back as two credits of 4, not eight of 1", async () => {
    const { s, it, grants, violations } = stream();
    for (let i = 0; i < 8; i++) s.onChunk(chunk());
    for (let i = 0; i < 8; i++) expect((await it.next()).done).toBe(false);
    expect(grants).toEqual([4, 4]);
    // The engine holds the whole window again: 8 more chunks are in credit, the 9th is not.
    for (let i = 0; i < 8; i++) s.onChunk(chunk());
    expect(violations).toEqual([]);
    s.onChunk(chunk());
    expect(violations).toEqual(["chunk sent without credit"]);
    await it.return(undefined);
  });

  it("when the queue runs dry, what is owed goes back at once (the engine never waits on a host that waits)", async () => {
    const { s, it, grants } = stream();
    s.onChunk(chunk());
    await it.next();
    expect(grants).toEqual([1]);
    s.onChunk(chunk());
    s.onChunk(chunk());
    await it.next();
    expect(grants).toEqual([1]); // one still queued: nothing owed is urgent
    await it.next();
    expect(grants).toEqual([1, 2]);
    const next = it.next(); // waits for audio, with the full window granted
    s.onChunk(chunk());
    expect((await next).done).toBe(false);
    s.resolve();
    expect((await it.next()).done).toBe(true);
  });
});
