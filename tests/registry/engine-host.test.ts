/** EngineHost failure containment: crash restart with backoff, giving up, timeouts, in-flight failures. */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EngineHost, type RestartPolicy } from "../../core/registry/engine-host.ts";
import { readPluginFolder } from "../../core/registry/plugin-folder.ts";
import { isWorkerLost, lossCause } from "../../core/registry/pending-calls.ts";
import { EngineError, type AudioChunk, type Manifest } from "../../packages/sdk/src/index.ts";
import { FIXTURES, captureLog, tempDir } from "./helpers.ts";

const hosts: EngineHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.terminate()));
});

function manifestOf(fixture: string, patch: Partial<Manifest> = {}): Manifest {
  const entry = readPluginFolder(path.join(FIXTURES, fixture));
  if (entry.status !== "available") throw new Error(entry.error);
  return { ...entry.manifest, ...patch };
}

/** pingTimeoutMs: how long a worker has to answer the check after a timeout (5 s: ample for one that still answers on a loaded machine). */
async function started(patch: Partial<Manifest> = {}, restart: Partial<RestartPolicy> = {}, settings: Record<string, unknown> = {}, pingTimeoutMs = 5000) {
  const { log, lines } = captureLog();
  const manifest = manifestOf("misbehaves", patch);
  const host = new EngineHost({ manifest, pluginDir: path.join(FIXTURES, "misbehaves"), log, restart: { initialDelayMs: 40, ...restart }, pingTimeoutMs });
  hosts.push(host);
  await host.start();
  await host.load({
    profile: manifest.resources.profiles[0]!,
    device: { kind: "cpu", index: 0, simulated: false },
    pluginDir: path.join(FIXTURES, "misbehaves"),
    settings,
    dataDir: tempDir("eh"),
  });
  return { host, lines };
}

async function say(host: EngineHost, text: string): Promise<AudioChunk[]> {
  const chunks: AudioChunk[] = [];
  for await (const c of host.synthesize({ text, voice: "a", speed: 1, pitch: 1, options: {} }, new AbortController().signal)) chunks.push(c);
  return chunks;
}

describe.each(["worker", "process"] as const)("EngineHost (%s isolation)", (isolation) => {
  it("fails every call in flight when the worker dies, then restarts it and reloads the engine", async () => {
    const { host, lines } = await started({ isolation });
    const crashes: string[] = [];
    host.on("crash", (reason: string) => crashes.push(reason));
    const hanging = say(host, "hang");
    const dying = say(host, "die");
    await expect(dying).rejects.toThrow(/engine worker crashed \(exit code 3\)/);
    await expect(hanging).rejects.toBeInstanceOf(EngineError);
    expect(crashes).toHaveLength(1);
    // Calls made during the restart wait for it instead of failing.
    expect(await say(host, "fine")).toHaveLength(1);
    expect(host.restarts).toBe(1);
    expect(host.alive).toBe(true);
    expect(lines.some((l) => l.reason === "restart_scheduled" && l.delayMs === 40)).toBe(true);
  });

  it("backs off between failing restarts and gives up after the limit", async () => {
    const marker = path.join(tempDir("marker"), "crash");
    const { host, lines } = await started({ isolation }, { maxRestarts: 3 }, { crashOnLoad: marker });
    const exited = new Promise<number | null>((r) => host.onExit(r));
    fs.writeFileSync(marker, ""); // every reload now kills the worker
    await expect(say(host, "die")).rejects.toThrow(/crashed/);
    await exited;
    expect(lines.filter((l) => l.reason === "restart_scheduled").map((l) => l.delayMs)).toEqual([40, 80, 160]);
    expect(lines.some((l) => l.reason === "restart_limit")).toBe(true);
    expect(host.alive).toBe(false);
    await expect(say(host, "fine")).rejects.toThrow(/not running|gave up/);
  });

  it("times out a synthesis that never yields, without restarting a worker that still answers", async () => {
    const { host, lines } = await started({ isolation });
    const err = await say(host, "hang").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as Error).message).toMatch(/timed out: no audio for 1 s \(the engine's worker answers/);
    expect(isWorkerLost(err)).toBe(false); // the engine's own failure: not resumed elsewhere
    // A call after a timeout waits for the ping's verdict, so by its answer the verdict is in.
    expect(await say(host, "fine")).toHaveLength(1);
    expect(lines.some((l) => l.reason === "synthesis_timeout")).toBe(true);
    expect(lines.some((l) => l.reason === "worker_unresponsive")).toBe(false);
    expect(host.restarts).toBe(0);
  });

  it("kills and replaces a worker that stops answering altogether", async () => {
    // A spinning worker never answers the check, however long it is given: a short one.
    const { host, lines } = await started({ isolation }, {}, {}, 500);
    const restarted = new Promise((r) => host.once("restart", r));
    // The stalled call waits for the ping's verdict and fails as a lost worker (a hang), which the pipeline resumes.
    const err = await say(host, "spin").catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/engine worker hung \(no answer to a ping within \d+ ms after a call timed out\) and was killed/);
    expect(lossCause(err)).toBe("hang");
    // A request arriving while the stuck worker is being checked waits for the new worker,
    // instead of being sent to the stuck one and dying with it.
    expect(await say(host, "fine")).toHaveLength(1);
    await restarted;
    expect(lines.some((l) => l.reason === "worker_unresponsive")).toBe(true);
    expect(host.restarts).toBe(1);
  });
});

it("rejects start() with the plugin's own error when its code fails to import", async () => {
  const { log } = captureLog();
  const host = new EngineHost({ manifest: manifestOf("import-fails"), pluginDir: path.join(FIXTURES, "import-fails"), log });
  hosts.push(host);
  await expect(host.start()).rejects.toThrow("native binding not found");
  expect(host.alive).toBe(false);
});
