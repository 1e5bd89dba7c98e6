/**
 * Defect 9 (issue 11), the smaller ones: a removed plugin stayed loaded (its worker alive)
 * until some unrelated scheduling event, and its snapshots stayed in <dataDir>/plugins; a
 * killed child reported exit code 128 instead of its signal; a crash message stayed in an
 * engine's `errors` after it had recovered.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/temp.ts";
import { childProcesses, startFaultServer, until, type FaultServer } from "./helpers.ts";

let chorus: FaultServer;
let plugins: string;
let dataDir: string;
beforeAll(async () => {
  plugins = tempDir("lifecycle-plugins");
  dataDir = tempDir("lifecycle-data");
  fs.cpSync(path.join(import.meta.dirname, "..", "hotswap", "fixtures", "tone"), path.join(plugins, "tone"), { recursive: true });
  chorus = await startFaultServer({ dataDir }, { dirs: ["engines", path.join(import.meta.dirname, "fixtures"), plugins] });
  await chorus.host.registry.watch({ debounceMs: 50 });
});
afterAll(async () => {
  await chorus?.close();
});

const speak = (engine: string) =>
  fetch(`${chorus.url}/api/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "one two", engine, format: "pcm" }),
  });
const engines = async () => ((await (await fetch(`${chorus.url}/api/engines`)).json()) as { engines: { id: string; errors: string[] }[] }).engines;

describe("plugin lifecycle", () => {
  it("a removed plugin unloads at once and its snapshots are deleted", async () => {
    expect((await speak("tone")).status).toBe(200);
    expect(chorus.host.scheduler.isLoaded("tone")).toBe(true);
    expect(fs.existsSync(path.join(dataDir, "plugins", "tone"))).toBe(true);
    fs.rmSync(path.join(plugins, "tone"), { recursive: true, force: true });
    await until("the plugin to be gone", async () => !(await engines()).some((e) => e.id === "tone") || undefined);
    // nothing else happens meanwhile: only the removal itself may unload it
    await until("the instance to unload", () => !chorus.host.scheduler.isLoaded("tone") || undefined, 80);
    await until("its snapshots to go", () => !fs.existsSync(path.join(dataDir, "plugins", "tone")) || undefined, 80);
  });

  it("a child killed with SIGKILL is reported by its signal; the crash leaves errors once recovered", async () => {
    expect((await speak("fault-child")).status).toBe(200);
    const child = childProcesses().find((p) => p.cmd.includes('"id":"fault-child"'));
    expect(child).toBeDefined();
    // what the registry records as the engine's incident (its `errors` while it lasts)
    const crashes: string[] = [];
    const incidents = (chorus.host.registry.catalogue as unknown as { incidents: Map<string, string> }).incidents;
    const set = incidents.set.bind(incidents);
    incidents.set = (k: string, v: string) => (crashes.push(v), set(k, v));
    process.kill(child!.pid, "SIGKILL");
    await until("the crash to be recorded", () => crashes.length > 0 || undefined);
    incidents.set = set;
    expect((await speak("fault-child")).status).toBe(200); // recovered
    expect(crashes[0]).toMatch(/killed by SIGKILL, exit code 137/);
    await until("the crash to leave errors", async () => (await engines()).find((x) => x.id === "fault-child")?.errors.length === 0 || undefined, 80);
  });
});
