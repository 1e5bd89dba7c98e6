/**
 * Fairness: sentence-granularity interleaving on one engine instance (maxParallel 1). A
 * request that arrives while a long one runs gets the engine after the long one's current
 * sentence, and the long one then resumes ahead of newer requests. Order, not timing.
 */
import { describe, expect, it } from "vitest";
import { ManualClock, flush } from "../helpers/clock.ts";
import { FakeCatalog, makeScheduler, manifest } from "./helpers.ts";

/** Advances the manual clock until `p` settles (loads take clock time). */
async function drive<T>(clock: ManualClock, p: Promise<T>): Promise<T> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 100 && !done; i++) await clock.advance(100);
  return p;
}

const catalog = () => new FakeCatalog([manifest("cpu-tts", [{ name: "cpu", device: "cpu", ramMb: 100, loadSeconds: 0 }])]);

describe("sentence turns", () => {
  it("a short request runs after one sentence of a long one, which then resumes", async () => {
    const clock = new ManualClock();
    const s = makeScheduler({ catalog: catalog(), clock });
    const order: string[] = [];
    const long = await drive(clock, s.acquire({ engineId: "cpu-tts" }));
    let shortLease: Awaited<ReturnType<typeof s.acquire>> | undefined;
    const short = s.acquire({ engineId: "cpu-tts" }).then((l) => (shortLease = l));
    await flush();
    expect(shortLease).toBeUndefined(); // the slot is the long request's
    order.push("long 1");
    const resumed = long.yieldTurn!(); // between sentence 1 and 2
    await short;
    order.push("short 1");
    let back = false;
    void resumed.then(() => (back = true));
    // a third request arriving now queues behind the long one's return
    let thirdLease: Awaited<ReturnType<typeof s.acquire>> | undefined;
    const third = s.acquire({ engineId: "cpu-tts" }).then((l) => (thirdLease = l));
    await flush();
    expect(back).toBe(false);
    shortLease!.release();
    await resumed;
    order.push("long 2");
    expect(thirdLease).toBeUndefined();
    const again = long.yieldTurn!(); // the third takes its turn
    await third;
    order.push("third 1");
    thirdLease!.release();
    await again;
    order.push("long 3");
    long.release();
    expect(order).toEqual(["long 1", "short 1", "long 2", "third 1", "long 3"]);
    await s.close();
  });

  it("nobody waiting: the holder keeps the slot; an abort while waiting for the turn gives no slot", async () => {
    const clock = new ManualClock();
    const s = makeScheduler({ catalog: catalog(), clock });
    const long = await drive(clock, s.acquire({ engineId: "cpu-tts" }));
    await long.yieldTurn!(); // no waiter: returns at once, still holding
    const other = s.acquire({ engineId: "cpu-tts" });
    await flush();
    const abort = new AbortController();
    const waiting = long.yieldTurn!(abort.signal);
    const otherLease = await other;
    abort.abort();
    await waiting; // resolves without the slot
    long.release(); // gives nothing back: the slot is the other request's
    // the other holds it: a new request must wait until it releases
    let fourth = false;
    const next = s.acquire({ engineId: "cpu-tts" }).then((l) => ((fourth = true), l));
    await flush();
    expect(fourth).toBe(false);
    otherLease.release();
    (await next).release();
    expect(fourth).toBe(true);
    await s.close();
  });
});
