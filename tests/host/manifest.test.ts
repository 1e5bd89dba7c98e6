import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { definePlugin } from "../../packages/sdk/src/index.ts";
import { ManifestSchema } from "../../core/registry/manifest-schema.ts";
import { readPluginFolder } from "../../core/registry/registry.ts";
import { tempDir } from "../helpers/temp.ts";

const minimal = { id: "demo", name: "Demo", version: "1.2.3", entry: "index.ts" };

describe("manifest schema", () => {
  it("fills defaults for capabilities, resources and options", () => {
    const m = ManifestSchema.parse(minimal);
    expect(m.isolation).toBe("worker");
    expect(m.capabilities.sentenceSplitting).toBe("host");
    expect(m.resources.profiles).toEqual([expect.objectContaining({ name: "cpu", device: "cpu", vramMb: 0, maxParallel: 1 })]);
    expect(m.options).toEqual({});
  });

  it("accepts placement profiles with fallbacks to other engines", () => {
    const m = ManifestSchema.parse({
      ...minimal,
      resources: {
        profiles: [
          { name: "gpu-fp16", device: "cuda", precision: "fp16", vramMb: 2600, transientVramMb: 400, ramMb: 1500, loadSeconds: 12 },
          { name: "cpu", device: "cpu", ramMb: 2500 },
        ],
        fallbacks: ["piper", "espeak:cpu"],
      },
    });
    expect(m.resources.profiles[0]!.vramMb).toBe(2600);
    expect(m.resources.fallbacks).toEqual(["piper", "espeak:cpu"]);
  });

  it.each([
    [{ ...minimal, id: "Bad Id" }, "id"],
    [{ ...minimal, version: "one" }, "version"],
    [{ ...minimal, entry: "" }, "entry"],
    [{ ...minimal, resources: { profiles: [] } }, "resources.profiles"],
    [{ ...minimal, resources: { profiles: [{ name: "x", device: "tpu" }] } }, "resources.profiles.0.device"],
    [{ ...minimal, resources: { profiles: [{ name: "cpu", device: "cpu" }], fallbacks: ["Not An Engine"] } }, "resources.fallbacks.0"],
    [{ ...minimal, options: { speed: { type: "complex" } } }, "options.speed.type"],
    [{ ...minimal, surprise: true }, ""],
  ])("rejects %j at %s", (input, where) => {
    const result = ManifestSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path.join(".")).toBe(where);
  });

  // What zod's shapes alone let through, and the host then got wrong at run time.
  it.each([
    [{ volume: { type: "number", min: 0, max: 1, default: 3 } }, "options.volume.default", "must be <= 1, got 3"],
    [{ steps: { type: "number", integer: true, default: 2.5 } }, "options.steps.default", "expected an integer, got 2.5"],
    [{ gain: { type: "number", min: 2, max: 1 } }, "options.gain.max", "must not be below min (2), got 1"],
    [{ style: { type: "string", enum: ["calm", "loud"], default: "clam" } }, "options.style.default", "must be one of 'calm', 'loud', got 'clam'"],
    [{ tag: { type: "string", maxLength: 3, default: "toolong" } }, "options.tag.default", "longer than 3 characters"],
  ])("refuses option spec %j whose default or range is impossible, at %s", (options, where, message) => {
    const result = ManifestSchema.safeParse({ ...minimal, options });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([expect.stringContaining(`${where}: ${message}`)]);
  });

  it.each([
    [{ capabilities: { sampleRates: [22050, 16] } }, "capabilities.sampleRates.1", "Too small: expected number to be >=1000"],
    [{ capabilities: { speedRange: [4, 0.5] } }, "capabilities.speedRange", "[min, max]: the first (min) must not be larger"],
    [{ capabilities: { pitchRange: [2, 1] } }, "capabilities.pitchRange", "[min, max]: the first (min) must not be larger"],
    [
      {
        resources: {
          profiles: [
            { name: "fast", device: "cuda" },
            { name: "fast", device: "cpu" },
          ],
        },
      },
      "resources.profiles.1.name",
      "duplicate profile name 'fast'",
    ],
    [{ runtime: "python", entry: "engine.py", python: { version: "3.11" } }, "python.version", "unsupported version clause '3.11'"],
  ])("refuses %j at %s", (fields, where, message) => {
    const result = ManifestSchema.safeParse({ ...minimal, ...fields });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([expect.stringContaining(`${where}: ${message}`)]);
  });

  it("accepts option defaults their specs allow, and pip specifiers with operators", () => {
    const m = ManifestSchema.parse({
      ...minimal,
      options: { volume: { type: "number", min: 0, max: 1, default: 1 }, style: { type: "string", enum: ["calm"], default: "calm" } },
      capabilities: { speedRange: [1, 1] },
      python: { version: "~=3.11" },
    });
    expect(m.options.volume).toMatchObject({ default: 1 });
    expect(ManifestSchema.parse({ ...minimal, python: { version: ">=3.10,<3.14" } }).python?.version).toBe(">=3.10,<3.14");
  });

  it("definePlugin checks its argument", () => {
    expect(() => definePlugin({} as never)).toThrow(/create/);
  });
});

describe("plugin folders", () => {
  const tmp = tempDir("manifest");
  const folder = (name: string, manifest: unknown, files: Record<string, string> = {}) => {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir, { recursive: true });
    if (manifest !== undefined) fs.writeFileSync(path.join(dir, "plugin.json"), typeof manifest === "string" ? manifest : JSON.stringify(manifest));
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    return dir;
  };

  it("reads a valid folder", () => {
    const entry = readPluginFolder(folder("ok", minimal, { "index.ts": "" }));
    expect(entry).toMatchObject({ id: "demo", status: "available" });
  });

  it("names the reason for each broken folder", () => {
    expect(readPluginFolder(folder("none", undefined))).toMatchObject({ id: "none", status: "failed", error: "no plugin.json" });
    expect(readPluginFolder(folder("badjson", "{nope"))).toMatchObject({ status: "failed", error: expect.stringMatching(/^plugin.json: /) });
    expect(readPluginFolder(folder("badfield", { ...minimal, version: "x" }, { "index.ts": "" }))).toMatchObject({
      id: "demo",
      status: "failed",
      error: expect.stringContaining("version"),
    });
    expect(readPluginFolder(folder("noentry", minimal))).toMatchObject({ status: "failed", error: expect.stringContaining("entry 'index.ts' not found") });
    expect(readPluginFolder(folder("escape", { ...minimal, entry: "../ok/index.ts" }))).toMatchObject({ status: "failed" });
    expect(readPluginFolder(folder("futuresdk", { ...minimal, sdk: "9" }, { "index.ts": "" }))).toMatchObject({
      status: "failed",
      error: "needs SDK 9; this host's SDK is 1.0.0",
    });
  });
});
