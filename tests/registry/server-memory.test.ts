/**
 * The server-wide RSS ceiling (core/registry/server-memory.ts), on a process RSS the test
 * sets: which worker-thread engine is stopped when the ceiling is near, and when none is.
 * (The real path, a plugin allocating Buffers in a synchronous loop: tests/faults/memory-limit.)
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ACT_AT, ServerMemoryWatch } from "../../core/registry/server-memory.ts";

function setup(ceilingMb = 1000) {
  let rss = 200;
  const watch = new ServerMemoryWatch(() => rss);
  const stopped: { label: string; detail: string; estimateMb: number }[] = [];
  let finish: () => void = () => {};
  const worker = (label: string) =>
    watch.register(
      { label, stop: (detail, estimateMb) => (stopped.push({ label, detail, estimateMb }), new Promise<void>((r) => (finish = r))) },
      ceilingMb,
      3_600_000,
    );
  return { watch, stopped, worker, setRss: (mb: number) => (rss = mb), finish: () => finish() };
}

describe("server memory ceiling", () => {
  it("stops the worker charged with the growth since its last report, once, and only past 90 % of the ceiling", async () => {
    const { watch, stopped, worker, setRss, finish } = setup();
    const espeak = worker("espeak");
    const flood = worker("flood");
    espeak.report(30);
    flood.report(10); // its last word, before it went into a synchronous loop
    setRss(ACT_AT * 1000); // at 90 %: not yet
    watch.check();
    expect(stopped).toEqual([]);
    espeak.report(30); // espeak keeps reporting on time
    setRss(950);
    watch.check();
    expect(stopped.map((s) => s.label)).toEqual(["flood"]);
    expect(stopped[0]!.estimateMb).toBe(10 + 750);
    expect(stopped[0]!.detail).toMatch(
      /resident memory \(950 MB\) passed 90 % of its ceiling of 1000 MB .*an estimated 760 MB \(it reported 10 MB \d+ ms ago; the server grew by 750 MB since\)/,
    );
    // while the stopped worker is on its way out, nobody else is judged
    watch.check();
    expect(stopped).toHaveLength(1);
    finish();
    await new Promise((r) => setImmediate(r));
    expect(watch.peakRssMb).toBe(950);
  });

  it("stops nobody when no worker grew unseen (the RSS is high, but every report explains it)", () => {
    const { watch, stopped, worker, setRss } = setup();
    const a = worker("a");
    const b = worker("b");
    setRss(960);
    a.report(400);
    b.report(300);
    setRss(970); // 10 MB since their reports: below the 16 MB that blames a worker
    watch.check();
    expect(stopped).toEqual([]);
  });

  it("an unregistered worker is never stopped", () => {
    const { watch, stopped, worker, setRss } = setup();
    const gone = worker("gone");
    gone.report(10);
    gone.unregister();
    setRss(2000);
    watch.check();
    expect(stopped).toEqual([]);
  });

  describe("a worker that stopped reporting", () => {
    afterEach(() => vi.useRealTimers());

    it("has its heap read by the host at each tick while silent (report interval + one tick), never while it reports on time", () => {
      // the watch's own timer is faked: only the test's check() calls tick
      vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"] });
      vi.setSystemTime(0);
      const watch = new ServerMemoryWatch(() => 200);
      const reads: string[] = [];
      const register = (label: string) => watch.register({ label, stop: async () => {}, readHeap: () => reads.push(label) }, 1000, 50, 250); // watch every 50 ms, reports every 250
      const onTime = register("on-time");
      const stuck = register("stuck");
      const tick = (at: number) => {
        vi.setSystemTime(at);
        watch.check();
      };
      tick(250);
      tick(300); // 300 ms since either reported: not yet silent
      expect(reads).toEqual([]);
      onTime.report(10);
      tick(301); // the stuck one has now been silent for longer than 250 + 50 ms
      tick(350);
      expect(reads).toEqual(["stuck", "stuck"]);
      stuck.report(20); // it reports again: no more readings
      onTime.report(10);
      tick(400);
      tick(550);
      expect(reads).toEqual(["stuck", "stuck"]);
    });

    it("a host reading is not a report: the silent worker is still charged the growth since its last report", () => {
      vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"] });
      vi.setSystemTime(0);
      let rss = 200;
      const watch = new ServerMemoryWatch(() => rss);
      const stopped: { label: string; estimateMb: number }[] = [];
      let reads = 0;
      const loop = watch.register(
        { label: "loop", stop: async (_, estimateMb) => void stopped.push({ label: "loop", estimateMb }), readHeap: () => reads++ },
        1000,
        50,
        250,
      );
      loop.report(10);
      vi.setSystemTime(1000);
      rss = 950;
      watch.check();
      expect(reads).toBe(1); // its heap was read (its link checks that against its own limit) ...
      expect(stopped).toEqual([{ label: "loop", estimateMb: 10 + 750 }]); // ... and the growth since its last report is still its own
    });
  });
});
