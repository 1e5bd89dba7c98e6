/**
 * Defect 1 (issue 11): keep-alive 0 must mean "unload after the last lease ends", and the
 * waiter whose request caused a load always gets that instance. On the old main, the expiry
 * (immediate for 0) was armed before waiters were handed the instance: load -> unload, forever.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { ManualClock } from "../helpers/clock.ts";
import type { Lease } from "../../core/scheduler/lease.ts";
import { buildApp } from "../../core/server/app.ts";
import type { Host } from "../../core/host.ts";
import { testHost } from "../helpers/host.ts";
import { FakeCatalog, FakeLoader, makeScheduler, manifest } from "../scheduler/helpers.ts";

const espeak = manifest("espeak", [{ name: "cpu", device: "cpu", ramMb: 64, loadSeconds: 0.2, maxParallel: 2 }]);

function setup(config: Record<string, unknown>) {
  const clock = new ManualClock();
  const loader = new FakeLoader(clock);
  const s = makeScheduler({ config, catalog: new FakeCatalog([espeak]), clock, loader });
  /** Acquires, moving the manual clock in bounded steps until the lease arrives (or not). */
  const get = async (extra: Record<string, unknown> = {}, n = 1): Promise<Lease[]> => {
    const ps = Array.from({ length: n }, () => s.acquire({ engineId: "espeak", ...extra }));
    const done: (Lease | undefined)[] = ps.map(() => undefined);
    ps.forEach((p, i) =>
      p.then(
        (l) => (done[i] = l),
        () => {},
      ),
    );
    for (let i = 0; i < 40 && done.some((d) => !d); i++) await clock.advance(100);
    expect(
      done.every(Boolean),
      `${done.filter(Boolean).length}/${n} leases granted; decisions: ${s
        .snapshot(8)
        .decisions.map((d) => d.reason)
        .join(",")}`,
    ).toBe(true);
    return done as Lease[];
  };
  return { s, loader, clock, get };
}

describe("keep-alive 0", () => {
  it.each([
    ["global config 0", { keepAliveSeconds: 0 }, {}],
    ["request override 0", {}, { keepAliveSeconds: 0 }],
    ["negative zero", { keepAliveSeconds: -0 }, {}],
  ])("%s: 20 sequential requests are all served, each unloads after its lease", async (_n, config, request) => {
    const { s, loader, get, clock } = setup(config);
    for (let i = 0; i < 20; i++) {
      const [lease] = await get(request);
      expect(s.isLoaded("espeak")).toBe(true);
      lease!.release();
      await clock.advance(0);
      expect(s.isLoaded("espeak")).toBe(false);
    }
    expect(loader.loads).toHaveLength(20);
    expect(loader.unloads).toHaveLength(20);
    expect(s.queued).toBe(0);
  });

  it("5 concurrent requests are all served by one load; it unloads after the last lease ends", async () => {
    const { s, loader, clock } = setup({ keepAliveSeconds: 0 });
    let served = 0;
    const all = Array.from({ length: 5 }, () =>
      s.acquire({ engineId: "espeak" }).then((l) => {
        served++;
        l.release();
      }),
    );
    for (let i = 0; i < 40 && served < 5; i++) await clock.advance(100);
    await Promise.all(all);
    expect(served).toBe(5);
    expect(loader.loads).toHaveLength(1); // queued requests take the instance before keep-alive 0 unloads it
    expect(loader.unloads).toHaveLength(1);
    expect(s.isLoaded("espeak")).toBe(false);
    expect(s.queued).toBe(0);
  });
});

describe("keep-alive 0 over HTTP with the real espeak engine", () => {
  let host: Host;
  let app: FastifyInstance;
  beforeAll(async () => {
    host = testHost({ log: { level: "silent" }, scheduler: { keepAliveSeconds: 0 } });
    app = await buildApp(host);
  });
  afterAll(async () => {
    await app.close();
    await host.close();
  });

  it("sequential and 5 concurrent POST /api/speech all answer 200", async () => {
    const speak = () => app.inject({ method: "POST", url: "/api/speech", payload: { text: "Hello there.", engine: "espeak" } });
    for (let i = 0; i < 5; i++) expect((await speak()).statusCode).toBe(200); // 20 sequential: the unit test above
    const many = await Promise.all(Array.from({ length: 5 }, speak));
    expect(many.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    const snap = (await app.inject("/api/scheduler")).json();
    expect(snap.queue.length).toBe(0);
  });
});
