/**
 * The SDK's test harness refuses a manifest the host would refuse, naming the same field: a
 * plugin's own tests ("has a valid manifest") could pass a plugin.json the host then listed as
 * failed (`"device": "gpu"` was even read as "cpu"). The harness checks plugin.json against
 * the SDK's plugin.schema.json; the host uses the zod schema it is generated from.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { ManifestSchema } from "../../core/registry/manifest-schema.ts";
import { testEngine } from "../../packages/sdk/src/index.ts";
import { ANNOTATIONS, APPLIED, checkManifestShape, schemaIssues, UnsupportedSchemaKeywordError } from "../../packages/sdk/src/schema-check.ts";
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

/**
 * Every keyword of every schema nested in `schema`, with where it is. Knows every place JSON
 * Schema (2020-12, and draft 7's array `items`) puts a subschema, whether or not the SDK's
 * checker applies that keyword, so a keyword nested where the checker never looks is found too.
 */
function keywordsOf(schema: unknown, at = "#", out: { keyword: string; at: string }[] = []) {
  if (typeof schema !== "object" || schema === null) return out;
  const maps = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
  const single = [
    "additionalProperties",
    "unevaluatedProperties",
    "propertyNames",
    "items",
    "additionalItems",
    "unevaluatedItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "contentSchema",
  ];
  const lists = ["allOf", "anyOf", "oneOf", "prefixItems", "items"];
  for (const [keyword, value] of Object.entries(schema)) {
    out.push({ keyword, at });
    if (maps.includes(keyword)) for (const [k, sub] of Object.entries(value as object)) keywordsOf(sub, `${at}/${keyword}/${k}`, out);
    else if (lists.includes(keyword) && Array.isArray(value)) value.forEach((sub, i) => keywordsOf(sub, `${at}/${keyword}/${i}`, out));
    else if (single.includes(keyword)) keywordsOf(value, `${at}/${keyword}`, out);
  }
  return out;
}

describe("the harness's schema checker covers plugin.schema.json", () => {
  it("applies every keyword the bundled schema uses, in every nested schema (an unknown one would be skipped: the harness accepting what the host refuses)", () => {
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, "packages/sdk/plugin.schema.json"), "utf8"));
    const found = keywordsOf(schema);
    // the walk went down the whole schema, into the options' alternatives too
    expect(found.length).toBeGreaterThan(250);
    expect(found.some((k) => k.at.startsWith("#/properties/options/additionalProperties/oneOf/1/properties/"))).toBe(true);
    const unknown = found.filter((k) => !APPLIED.has(k.keyword) && !ANNOTATIONS.has(k.keyword)).map((k) => `${k.keyword} at ${k.at}`);
    expect(unknown).toEqual([]);
  });

  it("the walk finds keywords nested anywhere, and the checker refuses to half-check a schema using one it does not apply", () => {
    const schema = {
      type: "object",
      properties: { a: { $ref: "#/$defs/name" } },
      $defs: { name: { type: "string", maxLength: 3 } },
      patternProperties: { "^x": { allOf: [{ not: { type: ["string", "null"] } }] } },
      additionalProperties: { type: "array", uniqueItems: true, items: { exclusiveMaximum: 2 } },
    };
    const unknown = keywordsOf(schema)
      .map((k) => k.keyword)
      .filter((k) => !APPLIED.has(k) && !ANNOTATIONS.has(k));
    expect(unknown.sort()).toEqual(["$defs", "$ref", "allOf", "exclusiveMaximum", "maxLength", "not", "patternProperties", "uniqueItems"]);
    expect(() => schemaIssues("abcd", { type: "string", maxLength: 3 })).toThrow(UnsupportedSchemaKeywordError);
    expect(() => schemaIssues({ a: 1 }, { type: "object", properties: { a: { exclusiveMaximum: 0 } } })).toThrow(/"exclusiveMaximum" \(at a\)/);
  });

  it("oneOf takes exactly one alternative; anyOf at least one", () => {
    const alternatives = [{ type: "number" }, { type: "integer" }];
    expect(schemaIssues(2.5, { oneOf: alternatives })).toEqual([]);
    expect(schemaIssues(3, { oneOf: alternatives })).toEqual([{ path: "", message: "matches 2 of the alternatives where exactly one must match" }]);
    expect(schemaIssues(3, { anyOf: alternatives })).toEqual([]);
    expect(schemaIssues("3", { oneOf: alternatives })).toHaveLength(1);
    // keywords beside anyOf/oneOf apply too
    expect(schemaIssues(-1, { anyOf: alternatives, minimum: 0 })).toEqual([{ path: "", message: "must be >= 0, got -1" }]);
  });
});

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

  it.each(["create", "load"])("removes its scratch data folder when the plugin's %s() throws (the caller gets no close())", async (failing) => {
    const dir = tempDir("harness");
    fs.cpSync(TEMPLATE, dir, { recursive: true });
    const tmp = tempDir("harness-tmp"); // the harness's os.tmpdir() for this test: nothing else writes there
    const broken = {
      create: async (context: Parameters<typeof plugin.create>[0]) => {
        if (failing === "create") throw new Error("create failed");
        const engine = await plugin.create(context);
        engine.load = async (ctx) => {
          fs.writeFileSync(path.join(ctx.dataDir, "partial.bin"), "x"); // what an engine wrote before failing
          throw new Error("load failed");
        };
        return engine;
      },
    };
    const before = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      expect(os.tmpdir()).toBe(tmp);
      await expect(testEngine(dir, { plugin: broken })).rejects.toThrow(`${failing} failed`);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
