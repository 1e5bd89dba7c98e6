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
