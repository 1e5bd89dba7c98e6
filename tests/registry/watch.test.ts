/** The registry's hot swap in-process: debounce, generations, rejection, snapshots, demotion, removal. */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { EngineHost } from "../../core/registry/engine-host.ts";
import { Registry, type RegistryChange } from "../../core/registry/registry.ts";
import type { AudioChunk } from "../../packages/sdk/src/index.ts";
import { captureLog, install, registryConfig, setVersion, tempDir, until } from "./helpers.ts";

const open: { registry: Registry; hosts: EngineHost[] }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await Promise.all(o.hosts.map((h) => h.terminate()));
    await o.registry.close();
  }
});

async function watched(root: string) {
  const { log, lines } = captureLog();
  const registry = Registry.create(registryConfig([root]), log);
  registry.scan();
  const changes: RegistryChange[] = [];
  registry.on("change", (c: RegistryChange) => changes.push(c));
  await registry.watch({ debounceMs: 100 });
  const o = { registry, hosts: [] as EngineHost[] };
  open.push(o);
  const start = async (id: string) => {
    const host = await registry.startEngine(id, registry.manifest(id)!.resources.profiles[0]!);
    o.hosts.push(host);
    return host;
  };
  return { registry, changes, lines, start };
}

async function rate(host: EngineHost): Promise<number> {
  const chunks: AudioChunk[] = [];
  for await (const c of host.synthesize({ text: "a", voice: "a", speed: 1, pitch: 1, options: { delayMs: 0 } }, new AbortController().signal)) chunks.push(c);
  return chunks[0]!.sampleRate;
}

const retone = (dir: string, rate: number) => {
  const f = path.join(dir, "index.ts");
  fs.writeFileSync(f, fs.readFileSync(f, "utf8").replace(/const RATE = \d+;/, `const RATE = ${rate};`));
};

describe("snapshots", () => {
  it("run as ES modules even when the data folder lies inside a CommonJS package", async () => {
    const cjsProject = tempDir("cjs");
    fs.writeFileSync(path.join(cjsProject, "package.json"), JSON.stringify({ name: "someone-elses-project", type: "commonjs" }));
    const root = tempDir("root");
    install("tone", root);
    const { log } = captureLog();
    const registry = Registry.create(registryConfig([root], { dataDir: path.join(cjsProject, "chorus-data") }), log);
    registry.scan();
    await registry.watch({ debounceMs: 100 });
    const o = { registry, hosts: [] as EngineHost[] };
    open.push(o);
    const host = await registry.startEngine("tone", registry.manifest("tone")!.resources.profiles[0]!);
    o.hosts.push(host);
    expect(await rate(host)).toBeGreaterThan(0);
  });
});

describe("registry hot swap", () => {
  // How many reports a burst makes is the debounce's job, tested on a fake clock in
  // debounce.test.ts; here real files go through chokidar, whose timing a test cannot control.
  it("adds a copied folder once, and a burst of writes ends in one new generation of the last content", async () => {
    const root = tempDir("root");
    const { registry, changes } = await watched(root);
    const dir = install("tone", root);
    await until(() => changes.length, 3000, "the add");
    expect(changes).toEqual([expect.objectContaining({ id: "tone", kind: "added" })]);
    const first = registry.get("tone")!.generation;
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(dir, `part-${i}.txt`), String(i));
    setVersion(dir, "1.1.0");
    await until(() => registry.get("tone")?.manifest?.version === "1.1.0", 3000, "the update");
    expect(changes.filter((c) => c.kind === "added")).toHaveLength(1);
    expect(changes.slice(1).every((c) => c.kind === "updated")).toBe(true);
    expect(registry.get("tone")).toMatchObject({ status: "available", manifest: { version: "1.1.0" } });
    expect(registry.get("tone")!.generation).toBeGreaterThan(first);
  });

  it("keeps the good generation, runnable from its snapshot, when the folder breaks", async () => {
    const root = tempDir("root");
    const dir = install("tone", root);
    const { registry, changes, lines, start } = await watched(root);
    const good = registry.get("tone")!;
    fs.writeFileSync(path.join(dir, "index.ts"), "export default 42;\n");
    setVersion(dir, "2.0.0");
    await until(() => changes.find((c) => c.kind === "rejected"), 5000, "the rejection");
    const entry = registry.get("tone")!;
    expect(entry).toMatchObject({ status: "available", generation: good.generation, manifest: { version: "1.0.0" } });
    expect(entry.error).toMatch(/version 2\.0\.0 rejected: failed to start: .*definePlugin/);
    expect(registry.problems(entry)).toEqual([entry.error]);
    expect(lines.some((l) => l.plugin === "tone" && l.reason === "rejected")).toBe(true);
    // The folder is broken, but a fresh instance of the good generation still starts.
    expect(await rate(await start("tone"))).toBe(16000);
  });

  it("names the version and the field of an invalid new manifest, and says 'a change' for unreadable JSON", async () => {
    const root = tempDir("root");
    const dir = install("tone", root);
    const { registry } = await watched(root);
    const tone = JSON.parse(fs.readFileSync(path.join(dir, "plugin.json"), "utf8")) as { resources: { profiles: { device: string }[] } };
    setVersion(dir, "2.0.0", { resources: { profiles: [{ ...tone.resources.profiles[0], device: "gpu" }] } });
    await until(() => registry.get("tone")?.error?.includes("2.0.0"), 5000, "the rejection of 2.0.0");
    expect(registry.get("tone")).toMatchObject({ status: "available", manifest: { version: "1.0.0" } });
    expect(registry.get("tone")!.error).toMatch(
      /^version 2\.0\.0 rejected: invalid plugin\.json: resources\.profiles\.0\.device: .*still serving version 1\.0\.0/,
    );
    fs.writeFileSync(path.join(dir, "plugin.json"), '{ "id": "tone", ');
    await until(() => registry.get("tone")?.error?.includes("JSON"), 5000, "the rejection of the unreadable manifest");
    expect(registry.get("tone")!.error).toMatch(/^a change rejected: plugin\.json: .*JSON.*still serving version 1\.0\.0/);
  });

  it("falls back to the previous generation when a new one fails to load", async () => {
    const root = tempDir("root");
    const dir = install("tone", root);
    const { registry, changes, start } = await watched(root);
    const v1 = registry.get("tone")!.generation;
    const code = path.join(dir, "index.ts");
    fs.writeFileSync(code, fs.readFileSync(code, "utf8").replace("async load() {}", 'async load() { throw new Error("gpu driver too old"); }'));
    setVersion(dir, "2.0.0");
    await until(() => changes.find((c) => c.kind === "updated"), 5000, "version 2 (it boots, so it is accepted)");
    expect(registry.get("tone")!.generation).toBeGreaterThan(v1);
    await expect(start("tone")).rejects.toThrow("gpu driver too old");
    expect(changes.at(-1)).toMatchObject({ kind: "demoted", generation: v1 });
    expect(registry.get("tone")).toMatchObject({ generation: v1, manifest: { version: "1.0.0" } });
    expect(registry.get("tone")!.error).toMatch(/version 2\.0\.0 .* failed to load: gpu driver too old; serving version 1\.0\.0/);
    expect(await rate(await start("tone"))).toBe(16000);
  });

  it("swaps to the new code and unregisters a removed folder", async () => {
    const root = tempDir("root");
    const dir = install("tone", root);
    const { registry, changes, start } = await watched(root);
    retone(dir, 8000);
    await until(() => changes.find((c) => c.kind === "updated"), 5000, "the update");
    expect(await rate(await start("tone"))).toBe(8000);
    fs.rmSync(dir, { recursive: true });
    await until(() => changes.find((c) => c.kind === "removed"), 5000, "the removal");
    expect(registry.get("tone")).toBeUndefined();
    await expect(
      registry.startEngine("tone", {
        name: "cpu",
        device: "cpu",
        precision: "fp32",
        vramMb: 0,
        transientVramMb: 0,
        ramMb: 0,
        loadSeconds: 1,
        maxParallel: 1,
        parallelism: "shared",
      }),
    ).rejects.toThrow("not available");
  });

  it("records an invalid new plugin as failed, and a duplicate id until its owner goes", async () => {
    const root = tempDir("root");
    const owner = install("tone", root, "a-tone");
    const { registry, changes } = await watched(root);
    const bad = path.join(root, "bad");
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, "plugin.json"), '{"id": "bad", "name": "Bad"}');
    install("tone", root, "b-tone");
    await until(() => registry.get("bad") && registry.list().length === 3, 5000, "both folders");
    expect(registry.get("bad")).toMatchObject({ status: "failed", error: expect.stringContaining("invalid plugin.json") });
    expect(registry.list().find((e) => e.dir.endsWith("b-tone"))).toMatchObject({
      status: "failed",
      error: expect.stringContaining("duplicate engine id 'tone'"),
    });
    fs.rmSync(owner, { recursive: true });
    await until(() => registry.get("tone")?.dir.endsWith("b-tone"), 5000, "b-tone to take the id over");
    expect(registry.get("tone")!.status).toBe("available");
    expect(changes.some((c) => c.kind === "removed")).toBe(true);
  });

  it("lists no engine for a file beside the plugin folders (a README, a log, a packed tarball)", async () => {
    const root = tempDir("root");
    const { registry, changes } = await watched(root);
    fs.writeFileSync(path.join(root, "README.md"), "# my plugins\n");
    install("tone", root);
    await until(() => registry.get("tone")?.status === "available", 5000, "the plugin");
    fs.appendFileSync(path.join(root, "README.md"), "edited\n");
    await registry.refresh(path.join(root, "README.md")); // what the watcher calls for it, awaited
    expect(registry.list().map((e) => e.id)).toEqual(["tone"]);
    expect(changes.filter((c) => c.kind === "rejected")).toEqual([]);
  });

  it("makes no new generation when only Python's bytecode cache changes (the author ran the plugin's tests)", async () => {
    const root = tempDir("root");
    const dir = install("tone", root);
    const { registry, changes } = await watched(root);
    const generation = registry.get("tone")!.generation;
    fs.mkdirSync(path.join(dir, "__pycache__"));
    fs.writeFileSync(path.join(dir, "__pycache__", "engine.cpython-311.pyc"), "bytecode");
    await registry.refresh(dir); // what the watcher would call for it, awaited
    expect(changes).toEqual([]);
    expect(registry.get("tone")!.generation).toBe(generation);
    setVersion(dir, "1.1.0"); // a real change still swaps
    await until(() => registry.get("tone")?.manifest?.version === "1.1.0", 5000, "the update");
  });

  it("starts watching a plugins folder created after the server started", async () => {
    const root = path.join(tempDir("later"), "plugins");
    const { registry } = await watched(root);
    fs.mkdirSync(root);
    install("tone", root);
    await until(() => registry.get("tone")?.status === "available", 5000, "the plugin in the new folder");
    expect(registry.get("tone")).toMatchObject({ status: "available", manifest: { id: "tone" } });
  });
});
