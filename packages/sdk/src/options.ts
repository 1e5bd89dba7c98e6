/** A request's engine `options` checked against the manifest's option specs, as the host does. */
import { BadOptionError } from "./errors.ts";
import type { Manifest, OptionSpec } from "./manifest.ts";

function problem(spec: OptionSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) return `expected a number, got ${JSON.stringify(value)}`;
      if (spec.integer && !Number.isInteger(value)) return `expected an integer, got ${value}`;
      if (spec.min !== undefined && value < spec.min) return `must be >= ${spec.min}, got ${value}`;
      if (spec.max !== undefined && value > spec.max) return `must be <= ${spec.max}, got ${value}`;
      return undefined;
    case "boolean":
      return typeof value === "boolean" ? undefined : `expected true or false, got ${JSON.stringify(value)}`;
    case "string":
      if (typeof value !== "string") return `expected a string, got ${JSON.stringify(value)}`;
      if (spec.enum?.length && !spec.enum.includes(value)) return `must be one of ${spec.enum.map((v) => `'${v}'`).join(", ")}, got '${value}'`;
      if (value.length > spec.maxLength) return `longer than ${spec.maxLength} characters`;
      return undefined;
  }
}

/**
 * The options with the manifest's defaults applied; throws `BadOptionError` naming the first
 * unknown or invalid option.
 */
export function validateOptions(manifest: Pick<Manifest, "id" | "options">, options: Record<string, unknown> | undefined): Record<string, unknown> {
  const given = options ?? {};
  if (typeof given !== "object" || Array.isArray(given)) throw new BadOptionError("", "options must be an object");
  const known = Object.keys(manifest.options);
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(manifest.options, key)) {
      throw new BadOptionError(key, `engine '${manifest.id}' has no option '${key}'${known.length ? ` (it has: ${known.join(", ")})` : ""}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(manifest.options)) {
    const value = given[key];
    if (value === undefined) {
      if (spec.default !== undefined) out[key] = spec.default;
      continue;
    }
    const why = problem(spec, value);
    if (why) throw new BadOptionError(key, why);
    out[key] = value;
  }
  return out;
}
