/** The committed plugin.schema.json is generated from the zod ManifestSchema and kept up to date. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SCHEMA_FILE, manifestJsonSchema, manifestJsonSchemaText } from "../../core/registry/json-schema.ts";
import { ManifestSchema } from "../../core/registry/manifest-schema.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("plugin.schema.json", () => {
  it("matches the zod ManifestSchema (regenerate with `npx tsx core/registry/json-schema.ts`)", () => {
    expect(fs.readFileSync(SCHEMA_FILE, "utf8")).toBe(manifestJsonSchemaText());
  });

  it("requires the identity fields and lists every manifest field", () => {
    const schema = manifestJsonSchema() as { required: string[]; properties: Record<string, unknown>; additionalProperties: boolean };
    expect(schema.required.sort()).toEqual(["entry", "id", "name", "version"]);
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(ManifestSchema.shape).sort());
    expect(schema.additionalProperties).toBe(false);
  });

  it("is what the template and example manifests point at, and they validate", () => {
    for (const dir of ["examples/plugin-template", "examples/plugins/sam", "examples/plugins/espeak-cli"]) {
      const raw = JSON.parse(fs.readFileSync(path.join(ROOT, dir, "plugin.json"), "utf8")) as { $schema: string };
      expect(path.resolve(ROOT, dir, raw.$schema)).toBe(SCHEMA_FILE);
      expect(ManifestSchema.safeParse(raw).success).toBe(true);
    }
  });
});
