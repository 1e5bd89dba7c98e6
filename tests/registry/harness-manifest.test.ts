/**
 * The SDK's test harness refuses a manifest the host would refuse, naming the same field: a
 * plugin's own tests ("has a valid manifest") could pass a plugin.json the host then listed as
 * failed (`"device": "gpu"` was even read as "cpu"). The harness checks plugin.json against
 * the SDK's plugin.schema.json; the host uses the zod schema it is generated from.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { ManifestSchema } from "../../core/registry/manifest-schema.ts";
import { testEngine } from "../../packages/sdk/src/index.ts";
import { checkManifestShape } from "../../packages/sdk/src/schema-check.ts";
import { tempDir } from "../helpers/temp.ts";
import plugin from "../../examples/plugin-template/index.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TEMPLATE = path.join(ROOT, "examples/plugin-template");
const template = JSON.parse(fs.readFileSync(path.join(TEMPLATE, "plugin.json"), "utf8")) as Record<string, unknown>;
const profile = { name: "cpu", device: "cpu" };

const broken: [string, Record<string, unknown>][] = [
  ["resources.profiles.0.device", { resources: { profiles: [{ ...profile, device: "gpu" }] } }],
  ["defualtVoice", { defualtVoice: "low" }],
  ["capabilities.sampleRates.0", { capabilities: { sampleRates: ["fast"] } }],
  ["capabilities.speedRange", { capabilities: { speedRange: [1] } }],
  ["capabilities.sampleRates.1", { capabilities: { sampleRates: [22050, 16] } }],
  ["options.volume.type", { options: { volume: { type: "float" } } }],
  ["options.bad-name", { options: { "bad-name": { type: "boolean" } } }],
  ["timeouts.loadSeconds", { timeouts: { loadSeconds: -1 } }],
  ["id", { id: "My Engine" }],
  ["version", { version: "1.0" }],
  ["isolation", { isolation: "thread" }],
  ["resources.profiles", { resources: { profiles: [] } }],
  ["commands.0.name", { commands: [{ name: "Say Hi", module: "hi.ts" }] }],
  ["python.torch.build", { python: { torch: { build: "rocm" } } }],
];

describe("the harness's manifest check", () => {
  it("accepts every manifest in the repository that the host accepts", () => {
    const files = execFileSync("git", ["ls-files", "*plugin.json"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
    let checked = 0;
    for (const file of files) {
      const raw = JSON.parse(fs.readFileSync(path.join(ROOT, file), "utf8")) as unknown;
      if (!ManifestSchema.safeParse(raw).success) continue;
      expect(() => checkManifestShape(raw), file).not.toThrow();
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it.each(broken)("refuses a manifest the host refuses, naming %s as the host does", (field, change) => {
    const manifest = { ...template, ...change };
    const host = ManifestSchema.safeParse(manifest);
    expect(host.success).toBe(false);
    // zod names an unknown key in its message, at the path of the object holding it
    expect(host.error!.issues.map((i) => (i.code === "unrecognized_keys" ? i.keys.join() : i.path.join(".")))).toContain(field);
    expect(() => checkManifestShape(manifest)).toThrow(new RegExp(`^invalid plugin\\.json: (.*; )?${field.replaceAll(".", "\\.")}: `));
  });

  it("makes testEngine refuse the template with a broken manifest, before running its code", async () => {
    const dir = tempDir("harness");
    fs.cpSync(TEMPLATE, dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "plugin.json"), JSON.stringify({ ...template, resources: { profiles: [{ ...profile, device: "gpu" }] } }));
    await expect(testEngine(dir, { dataDir: tempDir("data") })).rejects.toThrow(
      /^invalid plugin\.json: resources\.profiles\.0\.device: must be one of "cpu", "cuda", got "gpu"$/,
    );
    fs.writeFileSync(path.join(dir, "plugin.json"), JSON.stringify(template));
    const engine = await testEngine(dir, { plugin, dataDir: tempDir("data") }); // chorus/sdk resolves inside the repository only
    expect((await engine.synthesize({ text: "one two" })).chunks).toHaveLength(2);
    await engine.close();
  });

  it("gives the engine a scratch data folder outside the plugin folder by default, removed on close", async () => {
    const dir = tempDir("harness");
    fs.cpSync(TEMPLATE, dir, { recursive: true });
    let dataDir = "";
    const spy = {
      create: async (context: Parameters<typeof plugin.create>[0]) => {
        const engine = await plugin.create(context);
        const load = engine.load.bind(engine);
        engine.load = async (ctx) => {
          dataDir = ctx.dataDir;
          fs.writeFileSync(path.join(ctx.dataDir, "cache.bin"), "x"); // an engine's cache
          return load(ctx);
        };
        return engine;
      },
    };
    const engine = await testEngine(dir, { plugin: spy });
    expect(path.relative(dir, dataDir).startsWith("..")).toBe(true); // a server watching the folder sees nothing
    expect(fs.readdirSync(dir).sort()).toEqual(fs.readdirSync(TEMPLATE).sort());
    await engine.close();
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});
