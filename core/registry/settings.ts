/**
 * An engine's settings (`engines.settings.<id>` in the host configuration) checked against the
 * `settings` JSON Schema of its manifest when the plugin is loaded, so that a typo is a clear
 * error naming the key at start, not a failure at the first request. Defaults from the schema
 * are applied. Without a `settings` schema the settings pass as they are.
 */
import { z } from "zod";
import type { Manifest } from "../../packages/sdk/src/index.ts";

const cache = new WeakMap<object, z.ZodType>();

export type SettingsResult = { ok: true; settings: Record<string, unknown> } | { ok: false; error: string };

export function validateSettings(manifest: Manifest, raw: Record<string, unknown> | undefined): SettingsResult {
  const given = raw ?? {};
  if (!manifest.settings) return { ok: true, settings: { ...given } };
  let schema = cache.get(manifest.settings);
  if (!schema) {
    schema = z.fromJSONSchema(manifest.settings as Parameters<typeof z.fromJSONSchema>[0]);
    cache.set(manifest.settings, schema);
  }
  const result = schema.safeParse(given);
  if (result.success) return { ok: true, settings: result.data as Record<string, unknown> };
  const prefix = `engines.settings.${manifest.id}`;
  const known = Object.keys((manifest.settings.properties as Record<string, unknown> | undefined) ?? {});
  const problems = result.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const where = [prefix, ...issue.path.map(String)].join(".");
      return issue.keys
        .map((k) => `${where}.${k}: unknown setting${issue.path.length === 0 && known.length ? ` (known: ${known.join(", ")})` : ""}`)
        .join("; ");
    }
    return `${[prefix, ...issue.path.map(String)].join(".")}: ${issue.message}`;
  });
  return { ok: false, error: `invalid settings: ${problems.join("; ")}` };
}
