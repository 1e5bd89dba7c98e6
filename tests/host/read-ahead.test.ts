/** The pipeline's read-ahead: runs the source ahead of the reader, within memory bounds. */
import { describe, expect, it } from "vitest";
import { readAhead, readAheadBytes } from "../../core/synth/read-ahead.ts";

/** A source of `n` items of `size` bytes; records how far it got and whether it was closed. */
function counted(n: number, size = 4, failAt?: number) {
  const state = { produced: 0, closed: false };
  async function* gen() {
    try {
      for (let i = 0; i < n; i++) {
        await new Promise((r) => setImmediate(r));
        if (i === failAt) throw new Error(`failed at ${i}`);
        state.produced++;
        yield { i, size };
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: gen() };
}
const sizeOf = (x: { size: number }) => x.size;
/**
 * Lets 100 event-loop turns pass. The sources above take one turn per item, so this is enough
 * for what can happen to happen, counted in turns, not milliseconds: a loaded machine cannot
 * make it too short (a 30 ms timer could fire after only a few turns).
 */
const settle = async () => {
  for (let i = 0; i < 100; i++) await new Promise((r) => setImmediate(r));
};

describe("readAhead", () => {
  it("runs the source to its end before the reader reads, and delivers every item in order", async () => {
    const { state, source } = counted(20);
    const reader = readAhead(source, () => undefined, sizeOf);
    await settle();
    expect(state.produced).toBe(20);
    expect(state.closed).toBe(true); // the engine (and its lease) is free already
    const seen: number[] = [];
    for await (const x of reader) seen.push(x.i);
    expect(seen).toEqual([...Array(20).keys()]);
    expect(readAheadBytes()).toBe(0);
  });

  it("stops running ahead at the per-stream bound, and goes on as the reader reads", async () => {
    const { state, source } = counted(20, 4);
    const reader = readAhead(source, () => undefined, sizeOf, { streamBytes: 10, totalBytes: 1000 });
    await settle();
    expect(state.produced).toBe(3); // 12 bytes kept: past the bound, the source waits
    await reader.next();
    await settle();
    expect(state.produced).toBe(4);
    let rest = 0;
    for await (const _ of reader) rest++;
    expect(rest).toBe(19);
    expect(readAheadBytes()).toBe(0);
  });

  it("shares the total bound between streams", async () => {
    const a = counted(20, 4);
    const b = counted(20, 4);
    const ra = readAhead(a.source, () => undefined, sizeOf, { streamBytes: 1000, totalBytes: 20 });
    const rb = readAhead(b.source, () => undefined, sizeOf, { streamBytes: 1000, totalBytes: 20 });
    await settle();
    expect(a.state.produced + b.state.produced).toBeLessThanOrEqual(7);
    expect(readAheadBytes()).toBeLessThanOrEqual(28);
    await ra.return(undefined);
    await settle();
    expect(b.state.produced).toBeGreaterThan(4); // room freed by a's close lets b go on
    await rb.return(undefined);
    expect(readAheadBytes()).toBe(0);
  });

  it("closing before reading stops the source, waits for it, and frees what was kept", async () => {
    const { state, source } = counted(1000, 4);
    let stopped = false;
    const reader = readAhead(source, () => (stopped = true), sizeOf, { streamBytes: 40, totalBytes: 1000 });
    await settle();
    await reader.return(undefined);
    expect(stopped).toBe(true);
    expect(state.closed).toBe(true);
    expect(readAheadBytes()).toBe(0);
  });

  it("passes a failure on after the items made before it", async () => {
    const { source } = counted(10, 4, 5);
    const reader = readAhead(source, () => undefined, sizeOf);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const x of reader) seen.push(x.i);
      })(),
    ).rejects.toThrow("failed at 5");
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(readAheadBytes()).toBe(0);
  });
});
