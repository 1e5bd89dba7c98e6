/**
 * Replicas (`parallelism: "replicas"`, core/registry/engine-host.ts): an instance of a
 * synchronous engine runs as several workers, each call on the least busy one. The fixture
 * blocks its thread until the test lets it go and says which worker it ran on, so two calls
 * running at once on two workers is seen, not timed: both arrive before either is let go (one
 * worker could not even take the second call while the first blocks it). A replica killed
 * mid-call fails only its own call (as a lost worker, which the pipeline resumes), restarts,
 * and the other replica's call goes on. Each copy takes one synthesis at a time (the engine
 * need not be reentrant): a call beyond the copies waits in the host for a free one. Both isolations: threads and child processes.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EngineHost } from "../../core/registry/engine-host.ts";
import { isWorkerLost, lossCause } from "../../core/registry/pending-calls.ts";
import { readPluginFolder } from "../../core/registry/plugin-folder.ts";
import { ENGINE_NICENESS } from "../../core/registry/priority.ts";
import type { AudioChunk, Manifest } from "../../packages/sdk/src/index.ts";
import { captureLog, tempDir, until } from "./helpers.ts";

const REPLICA = path.resolve(import.meta.dirname, "fixtures/replica");

const hosts: EngineHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.terminate()));
});

async function started(
  isolation: "worker" | "process",
  replicas: number,
  restart: { initialDelayMs?: number; maxRestarts?: number } = {},
  hang?: { chunkSeconds: number; pingTimeoutMs: number },
) {
  const entry = readPluginFolder(REPLICA);
  if (entry.status !== "available") throw new Error(entry.error);
  const manifest: Manifest = { ...entry.manifest, isolation, ...(hang ? { timeouts: { ...entry.manifest.timeouts, chunkSeconds: hang.chunkSeconds } } : {}) };
  const dir = tempDir("replicas");
  const { log, lines } = captureLog();
  const host = new EngineHost({ manifest, pluginDir: REPLICA, log, restart: { initialDelayMs: 20, ...restart }, pingTimeoutMs: hang?.pingTimeoutMs });
  hosts.push(host);
  await host.start();
  const profile = manifest.resources.profiles[0]!;
  await host.load(
    { profile, device: { kind: "cpu", index: 0, simulated: false }, pluginDir: REPLICA, settings: { dir }, dataDir: tempDir("replicas-data") },
    replicas,
  );
  const events = () => (fs.existsSync(path.join(dir, "events")) ? fs.readFileSync(path.join(dir, "events"), "utf8").trim().split("\n") : []);
  const arrived = (name: string) =>
    events()
      .find((e) => e.startsWith(`arrive ${name} `))
      ?.split(" ");
  const touch = (file: string) => fs.writeFileSync(path.join(dir, file), "");
  return { host, lines, events, arrived, touch };
}

async function say(host: EngineHost, text: string): Promise<AudioChunk[]> {
  const chunks: AudioChunk[] = [];
  for await (const c of host.synthesize({ text, voice: "a", speed: 1, pitch: 1, options: {} }, new AbortController().signal)) chunks.push(c);
  return chunks;
}

describe.each(["worker", "process"] as const)("replicas (%s isolation)", (isolation) => {
  it("two calls run at once on two different workers, each at the engines' lowered priority", async () => {
    const { host, arrived, touch } = await started(isolation, 2);
    expect(host.replicaCount).toBe(2);
    const a = say(host, "Block A.");
    const b = say(host, "Block B.");
    // both are inside their (blocking) synthesis before either is let go
    const [, , workerA, niceA] = await until(() => arrived("A"), 30_000, "call A on a worker");
    const [, , workerB, niceB] = await until(() => arrived("B"), 30_000, "call B on another worker while A blocks its own");
    expect(workerA).not.toBe(workerB);
    expect(host.busy).toEqual([1, 1]);
    if (process.platform === "linux") {
      const { getPriority } = await import("node:os");
      for (const nice of [niceA, niceB]) expect(Number(nice)).toBe(Math.min(19, getPriority(0) + ENGINE_NICENESS));
    }
    touch("go-A");
    touch("go-B");
    expect(await a).toHaveLength(1);
    expect(await b).toHaveLength(1);
    expect(host.busy).toEqual([0, 0]);
  });

  it("each copy takes one synthesis at a time: a third call waits for a free copy, then runs on it", async () => {
    const { host, arrived, touch } = await started(isolation, 2);
    const a = say(host, "Block A.");
    const b = say(host, "Block B.");
    await until(() => arrived("A"), 30_000, "call A");
    const [, , workerB] = await until(() => arrived("B"), 30_000, "call B");
    const c = say(host, "Block C.");
    await new Promise((r) => setImmediate(r));
    expect(host.busy).toEqual([1, 1]); // C is held by the host, not queued inside a busy worker
    touch("go-B");
    await b;
    const [, , workerC] = await until(() => arrived("C"), 30_000, "call C on the copy B freed");
    expect(workerC).toBe(workerB);
    touch("go-A");
    touch("go-C");
    await Promise.all([a, c]);
  });

  it("one replica: the calls run one after the other on the same worker", async () => {
    const { host, arrived, events, touch } = await started(isolation, 1);
    expect(host.replicaCount).toBe(1);
    const a = say(host, "Block A.");
    await until(() => arrived("A"), 30_000, "call A");
    const b = say(host, "Block B.");
    touch("go-B"); // B may go at once: it still cannot start while A holds the only worker
    touch("go-A");
    await Promise.all([a, b]);
    expect(events().map((e) => e.split(" ").slice(0, 2).join(" "))).toEqual(["arrive A", "done A", "arrive B", "done B"]);
    expect(arrived("A")![2]).toBe(arrived("B")![2]);
  });

  it("a replica killed mid-call fails only its own call; the other call finishes; the killed one restarts", async () => {
    const { host, arrived, touch, lines } = await started(isolation, 2);
    const crashes: string[] = [];
    host.on("crash", (reason: string) => crashes.push(reason));
    const a = say(host, "Block A.");
    const b = say(host, "Block B.");
    const [, , workerA] = await until(() => arrived("A"), 30_000, "call A");
    await until(() => arrived("B"), 30_000, "call B");
    if (isolation === "process") process.kill(Number(workerA!.split("/")[0]), "SIGKILL");
    else touch("die-A");
    const lost = await a.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isWorkerLost(lost), String(lost)).toBe(true);
    expect(crashes).toHaveLength(1);
    expect(host.busy[1]).toBe(1); // B still runs, untouched
    touch("go-B");
    expect(await b).toHaveLength(1);
    await until(() => host.restarts === 1, 30_000, "the killed replica to restart");
    expect(host.alive).toBe(true);
    expect(lines.some((l) => l.reason === "restarted" && l.replica === undefined)).toBe(true); // replica 1 (the first) was A's
    // both serve again: two new calls run at once
    const c = say(host, "Block C.");
    const d = say(host, "Block D.");
    const [, , workerC] = await until(() => arrived("C"), 30_000, "call C");
    const [, , workerD] = await until(() => arrived("D"), 30_000, "call D beside C");
    expect(workerC).not.toBe(workerD);
    touch("go-C");
    touch("go-D");
    await Promise.all([c, d]);
  });
});

describe("a copy that gives up restarting (worker isolation)", () => {
  it("does not take the other copy's call with it: that call finishes; the host says it is degraded; it ends with its last copy", async () => {
    const { host, arrived, touch } = await started("worker", 2, { maxRestarts: 0 });
    const degraded: string[] = [];
    host.on("degraded", (why: string) => degraded.push(why));
    let exited = false;
    host.onExit(() => (exited = true));
    const a = say(host, "Block A.");
    const b = say(host, "Block B.");
    await until(() => arrived("A"), 30_000, "call A");
    await until(() => arrived("B"), 30_000, "call B");
    touch("die-A"); // no restarts allowed: A's copy gives up
    const lost = await a.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isWorkerLost(lost), String(lost)).toBe(true);
    await until(() => degraded.length > 0 || undefined, 30_000, "the host to say a copy is gone");
    expect(degraded[0]).toMatch(/replica 1 of 2 gave up/);
    expect(host.alive).toBe(true);
    expect(host.busy[1]).toBe(1);
    const health = await host.health();
    expect(health).toEqual({ ok: false, detail: expect.stringMatching(/replica 1: gave up restarting/) });
    touch("go-B");
    expect(await b).toHaveLength(1); // the healthy copy's call is whole
    // the copy left serves on (a request already granted is not failed), then the instance ends with it
    const c = say(host, "Block C.");
    const [, , workerC] = await until(() => arrived("C"), 30_000, "call C on the copy left");
    expect(workerC).toBe(arrived("B")![2]);
    touch("go-C");
    expect(await c).toHaveLength(1);
    expect(exited).toBe(false);
    touch("die-D");
    await say(host, "Block D.").catch(() => {});
    await until(() => exited || undefined, 30_000, "the instance to end with its last copy");
    expect(host.alive).toBe(false);
  });
});

describe("a copy that hangs (worker isolation)", () => {
  it("is probed and killed on its own: its call fails as a hang (resumable), the other copy and its worker are untouched", async () => {
    // no audio for 1 s, then no answer to a ping within 300 ms: hung (the fixture blocks its thread)
    const { host, arrived, touch } = await started("worker", 2, {}, { chunkSeconds: 1, pingTimeoutMs: 300 });
    const crashes: string[] = [];
    host.on("crash", (reason: string) => crashes.push(reason));
    const a = say(host, "Block A.");
    await until(() => arrived("A"), 30_000, "call A (it will hang)");
    const b = say(host, "Block B.");
    const [, , workerB] = await until(() => arrived("B"), 30_000, "call B on the other copy");
    touch("go-B"); // B answers in time
    expect(await b).toHaveLength(1);
    const lost = await a.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(lossCause(lost), String(lost)).toBe("hang");
    expect(crashes).toHaveLength(1);
    await until(() => host.restarts === 1 || undefined, 30_000, "the hung copy to restart");
    // B's worker still serves (it was never killed): a call beside a new one on the restarted copy
    touch("go-C");
    touch("go-D");
    const c = say(host, "Block C.");
    const d = say(host, "Block D.");
    await Promise.all([c, d]);
    const workers = [arrived("C")![2], arrived("D")![2]];
    expect(workers).toContain(workerB);
    expect(workers).not.toContain(arrived("A")![2]);
  }, 40_000);
});

describe("a copy restarting", () => {
  it("a new call waits for a copy that serves to be free, not for the restart (which may be a long backoff away)", async () => {
    const { host, arrived, touch } = await started("worker", 2, { initialDelayMs: 600_000 });
    const a = say(host, "Block A.");
    const b = say(host, "Block B.");
    await until(() => arrived("A"), 30_000, "call A");
    const [, , workerB] = await until(() => arrived("B"), 30_000, "call B");
    touch("die-A");
    await a.catch(() => {});
    const c = say(host, "Block C."); // B's copy is busy; A's restarts in 10 minutes
    touch("go-B");
    await b;
    const [, , workerC] = await until(() => arrived("C"), 30_000, "call C on B's copy once it is free");
    expect(workerC).toBe(workerB);
    touch("go-C");
    expect(await c).toHaveLength(1);
  }, 40_000);
});

describe("unloading copies", () => {
  it("does not wait for a copy that is restarting (it never reloaded; it is stopped with the rest)", async () => {
    // a restart that would come only after the test's time limit: unload must not wait for it
    const { host, arrived, touch } = await started("worker", 2, { initialDelayMs: 600_000 });
    const a = say(host, "Block A.");
    await until(() => arrived("A"), 30_000, "call A");
    touch("die-A");
    await a.catch(() => {});
    await until(() => (host.restarts === 0 && host.busy[0] === 0) || undefined, 30_000, "the crash to be seen");
    await host.unload(); // the copy that serves unloads; the restarting one is skipped
    await host.shutdown();
    expect(host.alive).toBe(false);
  }, 20_000);
});

describe("replicas through the server (engines.cpuReplicas 2)", () => {
  it("two HTTP requests run at once on two workers; GET /api/scheduler shows 2 replicas and 2 x ramMb booked", async () => {
    const { startChorus } = await import("../compat/server.ts");
    const root = tempDir("replica-root");
    fs.cpSync(REPLICA, path.join(root, "replica"), { recursive: true });
    const dir = tempDir("replica-events");
    const chorus = await startChorus({}, { log: { level: "silent" }, engines: { dirs: [root], cpuReplicas: 2, settings: { replica: { dir } } } });
    try {
      const speak = (text: string) =>
        fetch(`${chorus.url}/api/speech`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ text, engine: "replica", format: "pcm" }),
        });
      const events = () => (fs.existsSync(path.join(dir, "events")) ? fs.readFileSync(path.join(dir, "events"), "utf8") : "");
      const worker = (name: string) => new RegExp(`arrive ${name} (\\S+)`).exec(events())?.[1];
      const a = speak("Block A.");
      const b = speak("Block B.");
      const workerA = await until(() => worker("A"), 30_000, "request A on a worker");
      const workerB = await until(() => worker("B"), 30_000, "request B on another worker while A blocks its own");
      expect(workerA).not.toBe(workerB);
      const snap = (await (await fetch(`${chorus.url}/api/scheduler`)).json()) as {
        engines: { engine: string; replicas: number; ramMb: number; inFlight: number }[];
        devices: { id: string; holdings: { engine: string; residentMb: number }[] }[];
      };
      expect(snap.engines).toEqual([expect.objectContaining({ engine: "replica", replicas: 2, ramMb: 64, inFlight: 2 })]);
      expect(snap.devices.find((d) => d.id === "cpu")!.holdings).toEqual([expect.objectContaining({ engine: "replica", residentMb: 64 })]);
      for (const name of ["A", "B"]) fs.writeFileSync(path.join(dir, `go-${name}`), "");
      for (const res of await Promise.all([a, b])) {
        expect(res.status).toBe(200);
        expect((await res.arrayBuffer()).byteLength).toBe(3200);
      }
    } finally {
      await chorus.close();
    }
  });
});
