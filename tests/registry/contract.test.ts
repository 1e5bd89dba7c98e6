/**
 * The manifest as the whole contract: the scheduler's device reaches the engine's load
 * context (a simulated two-GPU machine), `settings` are validated at load against the
 * manifest's JSON Schema (a typo is an error naming the key), `sdk` is a semver range checked
 * against the host's SDK version, and the SDK's own manifest defaults agree with the host's.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SDK_VERSION, manifestWithDefaults } from "../../packages/sdk/src/index.ts";
import { createHost, type Host } from "../../core/host.ts";
import { ManifestSchema } from "../../core/registry/manifest-schema.ts";
import { readPluginFolder } from "../../core/registry/plugin-folder.ts";
import { carriedOptions, validateOptions } from "../../core/synth/options.ts";
import { captureLog, registryConfig, tempDir } from "./helpers.ts";

const WHERE = path.resolve(import.meta.dirname, "fixtures/where");
const ROOT = path.resolve(import.meta.dirname, "../..");
const hosts: Host[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

function rootWith(patch: Record<string, unknown> = {}): string {
  const root = tempDir("contract");
  fs.cpSync(WHERE, path.join(root, "where"), { recursive: true });
  const file = path.join(root, "where", "plugin.json");
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), ...patch }));
  return root;
}

function hostOver(root: string, overrides: Record<string, unknown> = {}): Host {
  const host = createHost(registryConfig([root], overrides), { log: captureLog().log });
  hosts.push(host);
  return host;
}

describe("the load context", () => {
  it("carries the device the scheduler chose: cuda:1 on a simulated two-GPU machine", async () => {
    // cuda:0 is too small for the 4000 MB profile, so the scheduler must book cuda:1.
    const simulated = [
      { name: "small", totalMb: 2048 },
      { name: "big", totalMb: 16384 },
    ];
    const root = rootWith();
    const host = hostOver(root, { engines: { dirs: [root], default: "where", settings: { where: { repeat: 2 } } }, scheduler: { devices: { simulated } } });
    const [voice] = await host.pipeline.voices("where");
    const seen = JSON.parse(voice!.description!) as { device: unknown; settings: unknown };
    expect(seen.device).toEqual({ kind: "cuda", index: 1, simulated: true });
    // Settings arrive validated, with the schema's defaults applied.
    expect(seen.settings).toEqual({ greeting: "hello", repeat: 2 });
    const placed = host.scheduler.snapshot(0).engines.find((e) => e.engine === "where");
    expect(placed).toMatchObject({ device: "cuda:1" });
    // Its leases carry the same device and the manifest it was loaded from (the pipeline asks no registry).
    const lease = await host.scheduler.acquire({ engineId: "where", fallback: false });
    lease.release();
    expect(lease.device).toEqual({ kind: "cuda", index: 1, simulated: true });
    expect(lease.manifest).toBe(host.registry.manifest("where"));
    // The engine's own memory report (3900 MB, protocol `memory`) replaced the declared 4000 MB.
    expect(host.scheduler.decisions.list().some((d) => d.reason === "learned_footprint" && /reports 3900 MB/.test(d.detail ?? ""))).toBe(true);
  });
});

describe("settings", () => {
  it("a typo in a setting is an error naming the key, at load, not at the first request", () => {
    const entry = readPluginFolder(path.join(rootWith(), "where"), () => ({ greting: "hi" }));
    expect(entry.status).toBe("failed");
    expect(entry.error).toMatch(/engines\.settings\.where\.greting: unknown setting \(known: greeting, repeat\)/);
    const bad = readPluginFolder(path.join(rootWith(), "where"), () => ({ repeat: 9 }));
    expect(bad.error).toMatch(/engines\.settings\.where\.repeat: .*5/);
  });

  it("a settings schema that is not an object schema is a manifest error", () => {
    const entry = readPluginFolder(path.join(rootWith({ settings: { type: "string" } }), "where"));
    expect(entry.status).toBe("failed");
    expect(entry.error).toMatch(/settings: must be a JSON Schema with "type": "object"/);
  });
});

describe("sdk range", () => {
  it.each([
    ["^1.0.0", true],
    ["1", true],
    [">=1.0.0 <2", true],
    ["^2.0.0", false],
    ["~0.9.0", false],
  ])("sdk %s accepted: %s", (range, ok) => {
    const entry = readPluginFolder(path.join(rootWith({ sdk: range }), "where"));
    if (ok) expect(entry.status).toBe("available");
    else expect(entry.error).toBe(`needs SDK ${range}; this host's SDK is ${SDK_VERSION}`);
  });

  it("a range that is not semver is a manifest error", () => {
    expect(readPluginFolder(path.join(rootWith({ sdk: "latest" }), "where")).error).toMatch(/sdk: a semver range/);
  });

  it("the SDK package's version is SDK_VERSION", () => {
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, "packages/sdk/package.json"), "utf8")).version).toBe(SDK_VERSION);
  });
});

describe("manifest defaults", () => {
  it("the SDK's manifestWithDefaults (for the harness) agrees with the host's schema on every shipped manifest", () => {
    const dirs = [
      "engines/espeak",
      "engines/flite",
      "engines/piper",
      "examples/plugin-template",
      "examples/plugins/sam",
      "examples/plugins/espeak-cli",
      "tests/registry/fixtures/where",
      "tests/registry/fixtures/flood",
    ];
    for (const dir of dirs) {
      const raw = JSON.parse(fs.readFileSync(path.join(ROOT, dir, "plugin.json"), "utf8"));
      expect(manifestWithDefaults(raw), dir).toEqual(ManifestSchema.parse(raw));
    }
  });
});

describe("options on every path", () => {
  const espeak = ManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(ROOT, "engines/espeak/plugin.json"), "utf8")));

  it("the requested engine: validated with its defaults, a bad one a 400 naming the option", () => {
    expect(validateOptions(espeak, { variant: "f2" })).toEqual({ variant: "f2", wordGap: 0, amplitude: 100 });
    expect(() => validateOptions(espeak, { wordGap: 500 })).toThrow(expect.objectContaining({ code: "CHORUS_ERR_REQUEST_INVALID", field: "options.wordGap" }));
    expect(() => validateOptions(espeak, { volume: 1 })).toThrow(expect.objectContaining({ field: "options.volume" }));
  });

  it("a fallback (or the re-placement after an out-of-memory) gets what it declares and accepts, and its defaults", () => {
    const carried = carriedOptions(espeak, { variant: "m3", wordGap: 999, noiseScale: 0.5 });
    expect(carried.options).toEqual({ variant: "m3", wordGap: 0, amplitude: 100 });
    expect(carried.dropped.sort()).toEqual(["noiseScale", "wordGap"]);
  });
});
