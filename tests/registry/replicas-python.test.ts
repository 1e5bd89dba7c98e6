/**
 * Replicas with the Python runtime (`runtime: "python"`, always a child process): each copy of
 * the engine is its own Python process running the SDK's runtime (packages/sdk-python), so
 * two blocking calls run at once in two processes, and a copy whose process dies fails only
 * its own call (as a lost worker) and restarts while the other's call finishes. The fixture
 * (fixtures/replica-py, standard library only) is started as the host starts a Python engine
 * (`python -m chorus_sdk --entry ... --manifest ...`, core/python/plugin-env.ts), with the
 * machine's python3 instead of a plugin environment (which `chorus plugin setup` would make).
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EngineHost } from "../../core/registry/engine-host.ts";
import { isWorkerLost } from "../../core/registry/pending-calls.ts";
import { readPluginFolder } from "../../core/registry/plugin-folder.ts";
import { PYTHON_SDK_DIR } from "../../core/python/plugin-env.ts";
import type { AudioChunk } from "../../packages/sdk/src/index.ts";
import { captureLog, tempDir, until } from "./helpers.ts";

const FIXTURE = path.resolve(import.meta.dirname, "fixtures/replica-py");

const hosts: EngineHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.terminate()));
});

async function say(host: EngineHost, text: string): Promise<AudioChunk[]> {
  const chunks: AudioChunk[] = [];
  for await (const c of host.synthesize({ text, voice: "a", speed: 1, pitch: 1, options: {} }, new AbortController().signal)) chunks.push(c);
  return chunks;
}

describe("replicas with the Python runtime", () => {
  it("two copies are two Python processes running at once; one dying fails only its own call and restarts", async () => {
    const entry = readPluginFolder(FIXTURE);
    if (entry.status !== "available") throw new Error(entry.error);
    const manifest = entry.manifest;
    expect(manifest.isolation).toBe("process");
    const dir = tempDir("replicas-py");
    const host = new EngineHost({
      manifest,
      pluginDir: FIXTURE,
      log: captureLog().log,
      restart: { initialDelayMs: 20 },
      processCommand: {
        command: "python3",
        args: ["-m", "chorus_sdk", "--entry", path.join(FIXTURE, manifest.entry), "--plugin-dir", FIXTURE, "--manifest", JSON.stringify(manifest)],
        env: { PYTHONPATH: PYTHON_SDK_DIR, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
      },
    });
    hosts.push(host);
    await host.start();
    const profile = manifest.resources.profiles[0]!;
    await host.load(
      { profile, device: { kind: "cpu", index: 0, simulated: false }, pluginDir: FIXTURE, settings: { dir }, dataDir: tempDir("replicas-py-data") },
      2,
    );
    const events = () => (fs.existsSync(path.join(dir, "events")) ? fs.readFileSync(path.join(dir, "events"), "utf8") : "");
    const pid = (name: string) =>
      /(\d+)$/.exec(
        events()
          .split("\n")
          .find((l) => l.startsWith(`arrive ${name} `)) ?? "",
      )?.[1];
    const touch = (f: string) => fs.writeFileSync(path.join(dir, f), "");

    const a = say(host, "Block A.");
    const b = say(host, "Block B.");
    const pidA = await until(() => pid("A"), 30_000, "A in a Python process");
    const pidB = await until(() => pid("B"), 30_000, "B in another, while A blocks its own");
    expect(pidA).not.toBe(pidB);
    expect(host.busy).toEqual([1, 1]);
    touch("die-A");
    const lost = await a.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isWorkerLost(lost), String(lost)).toBe(true);
    expect(host.busy[1]).toBe(1);
    touch("go-B");
    expect(await b).toHaveLength(1);
    await until(() => host.restarts === 1 || undefined, 30_000, "the dead copy's process to restart");
    const c = say(host, "Block C.");
    const d = say(host, "Block D.");
    const pidC = await until(() => pid("C"), 30_000, "C");
    const pidD = await until(() => pid("D"), 30_000, "D beside C");
    expect(new Set([pidA, pidB, pidC, pidD]).size).toBe(3); // C and D: the restarted process and B's
    touch("go-C");
    touch("go-D");
    expect((await Promise.all([c, d])).map((x) => x.length)).toEqual([1, 1]);
  }, 60_000);
});
