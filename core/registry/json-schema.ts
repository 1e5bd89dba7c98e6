/**
 * The manifest's JSON Schema, generated from the zod `ManifestSchema` so the two never drift.
 * `packages/sdk/plugin.schema.json` is its committed output (shipped with the SDK); a plugin's `plugin.json`
 * points at it with `"$schema"` and editors validate and complete the manifest.
 * Regenerate with: `npx tsx core/registry/json-schema.ts`
 */
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ManifestSchema } from "./manifest-schema.ts";

export const SCHEMA_FILE = fileURLToPath(new URL("../../packages/sdk/plugin.schema.json", import.meta.url));

/** The schema as authors write manifests: fields with defaults are optional. */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ManifestSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  return {
    $id: "https://chorus.invalid/schemas/plugin.schema.json",
    title: "Chorus plugin manifest (plugin.json)",
    ...schema,
  };
}

/** The file's exact expected text (stable key order, trailing newline). */
export function manifestJsonSchemaText(): string {
  return `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  fs.writeFileSync(SCHEMA_FILE, manifestJsonSchemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
