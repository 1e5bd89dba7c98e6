/**
 * Replicas (`parallelism: "replicas"`, `engines.cpuReplicas` 2) in a real `chorus serve`: the
 * blocking fixture (tests/registry/fixtures/replica) as child processes, so each copy is a
 * pid the test can see come and go. A hot swap while both copies are busy: the two requests
 * finish whole on the old generation, a new request gets the new one, and both old copies are
 * stopped once drained (their RAM no longer booked). SIGTERM while both copies stream: the
 * server waits for both requests, then stops without waiting for the grace period's cut-off
 * (the finished requests' keep-alive connections are closed), and every copy exits.
 * Conditions, not timings.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startServer, tempDir, waitFor, type TestServer } from "./server.ts";

const REPLICA = path.resolve(import.meta.dirname, "../registry/fixtures/replica");

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** The folder's waitFor (its ceiling against a loaded machine), with the description first. */
const until = <T>(what: string, probe: () => T | Promise<T>) => waitFor(probe, what);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function start() {
  const plugins = tempDir("replica-plugins");
  const dir = path.join(plugins, "replica");
  fs.cpSync(REPLICA, dir, { recursive: true });
  const manifestFile = path.join(dir, "plugin.json");
  const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as Record<string, unknown>;
  fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, isolation: "process" }));
  const events = tempDir("replica-events");
  server = await startServer({
    pluginDirs: [plugins],
    env: { CHORUS_ENGINES__CPU_REPLICAS: "2", CHORUS_ENGINES__SETTINGS__REPLICA__DIR: JSON.stringify(events) },
  });
  const s = server;
  const speak = (text: string) =>
    fetch(`${s.url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text, engine: "replica", format: "pcm", fallback: false }),
    }).then(async (r) => ({ status: r.status, bytes: (await r.arrayBuffer()).byteLength }));
  const log = () => (fs.existsSync(path.join(events, "events")) ? fs.readFileSync(path.join(events, "events"), "utf8") : "");
  const pidOf = (name: string) => {
    const m = new RegExp(`arrive ${name} (\\d+)/`).exec(log());
    return m ? Number(m[1]) : undefined;
  };
  const go = (name: string) => fs.writeFileSync(path.join(events, `go-${name}`), "");
  return { s, dir, manifestFile, manifest, speak, pidOf, go };
}

describe("replicas in a real server", () => {
  it("hot swap while both copies are busy: both requests finish, the new generation serves, both old copies stop", async () => {
    const { s, manifestFile, manifest, speak, pidOf, go } = await start();
    const a = speak("Block A.");
    const b = speak("Block B.");
    const pidA = await until("A on a copy", () => pidOf("A"));
    const pidB = await until("B on the other copy", () => pidOf("B"));
    expect(pidA).not.toBe(pidB);
    fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, isolation: "process", version: "1.0.1" }));
    await until("version 1.0.1 to be registered", async () => {
      const list = (await (await fetch(`${s.url}/api/engines`)).json()) as { engines: { id: string; version: string }[] };
      return list.engines.find((e) => e.id === "replica")?.version === "1.0.1" || undefined;
    });
    const c = speak("Block C.");
    const pidC = await until("C on the new generation", () => pidOf("C"));
    expect([pidA, pidB]).not.toContain(pidC);
    go("C");
    expect(await c).toEqual({ status: 200, bytes: 3200 });
    go("A");
    go("B");
    expect(await Promise.all([a, b])).toEqual([
      { status: 200, bytes: 3200 },
      { status: 200, bytes: 3200 },
    ]);
    await until("both old copies to exit", () => (!alive(pidA) && !alive(pidB)) || undefined);
    const snap = (await (await fetch(`${s.url}/api/scheduler`)).json()) as {
      engines: { engine: string; replicas: number; ramMb: number; stale: boolean }[];
    };
    // only the new generation's instance is booked
    expect(snap.engines.filter((e) => e.engine === "replica")).toEqual([expect.objectContaining({ replicas: 2, ramMb: 64, stale: false })]);
  }, 90_000);

  it("SIGTERM while both copies stream: both requests finish whole, then every copy exits", async () => {
    const { s, speak, pidOf, go } = await start();
    const a = speak("Block A.");
    const b = speak("Block B.");
    const pidA = await until("A on a copy", () => pidOf("A"));
    const pidB = await until("B on the other copy", () => pidOf("B"));
    const exited = new Promise<number | null>((r) => s.child.once("exit", r));
    s.child.kill("SIGTERM");
    await until("the server to start shutting down", () => s.logs.some((l) => l.msg === "shutting down") || undefined);
    go("A");
    go("B");
    expect(await Promise.all([a, b])).toEqual([
      { status: 200, bytes: 3200 },
      { status: 200, bytes: 3200 },
    ]);
    expect(await exited).toBe(0);
    // it stopped once the requests were done, not at the grace period's cut-off (their keep-alive connections were closed)
    expect(s.logs.some((l) => l.msg === "cutting off the requests still running")).toBe(false);
    await until("both copies to exit", () => (!alive(pidA) && !alive(pidB)) || undefined);
  }, 90_000);
});
