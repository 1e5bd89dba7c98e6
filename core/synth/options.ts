/** Validates a request's engine-specific `options` against the manifest's option specs. */
import { z } from "zod";
import type { Manifest, OptionSpec } from "../../packages/sdk/src/index.ts";
import { ChorusError } from "../errors.ts";

const cache = new WeakMap<Manifest, z.ZodType<Record<string, unknown>>>();

function specSchema(spec: OptionSpec): z.ZodType {
  switch (spec.type) {
    case "number": {
      let s = spec.integer ? z.number().int() : z.number();
      if (spec.min !== undefined) s = s.min(spec.min);
      if (spec.max !== undefined) s = s.max(spec.max);
      return s;
    }
    case "boolean":
      return z.boolean();
    case "string":
      return spec.enum?.length ? z.enum(spec.enum as [string, ...string[]]) : z.string().max(spec.maxLength);
  }
}

function schemaFor(manifest: Manifest): z.ZodType<Record<string, unknown>> {
  let schema = cache.get(manifest);
  if (!schema) {
    const shape: Record<string, z.ZodType> = {};
    for (const [name, spec] of Object.entries(manifest.options)) {
      shape[name] = spec.default !== undefined ? specSchema(spec).default(spec.default) : specSchema(spec).optional();
    }
    schema = z.strictObject(shape) as unknown as z.ZodType<Record<string, unknown>>;
    cache.set(manifest, schema);
  }
  return schema;
}

/** Returns the options with defaults applied, or throws a 400 naming `options.<name>`. */
export function validateOptions(manifest: Manifest, options: Record<string, unknown> | undefined): Record<string, unknown> {
  const result = schemaFor(manifest).safeParse(options ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.code === "unrecognized_keys" ? issue.keys[0] : issue.path.join(".");
  const known = Object.keys(manifest.options);
  const message =
    issue.code === "unrecognized_keys"
      ? `engine '${manifest.id}' has no option '${key}'${known.length ? ` (it has: ${known.join(", ")})` : ""}`
      : `${issue.message}`;
  throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `options.${key}: ${message}`, { field: `options.${key}` });
}
