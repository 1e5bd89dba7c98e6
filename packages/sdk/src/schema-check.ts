/**
 * A `plugin.json` checked against the SDK's own `plugin.schema.json`, for the test harness: a
 * plugin's tests then refuse what the host would refuse at discovery, naming the field as
 * the host does (`resources.profiles.0.device: ...`). The schema is generated from the host's
 * manifest schema; this reads the JSON Schema keywords it uses (no dependency). What the host
 * checks beyond the schema's shapes (settings schemas, option defaults, the sdk range) stays
 * with `chorus plugin check`.
 *
 * Only the keywords in APPLIED are checked; a schema with any other keyword (besides the
 * ANNOTATIONS) is refused with an error rather than half-checked, so the day the generated
 * schema uses, say, maxLength or $ref, the SDK's own test (tests/registry/harness-manifest.test.ts
 * walks every nested schema) fails instead of the harness quietly accepting what the host refuses.
 */
import fs from "node:fs";

type Schema = boolean | { [keyword: string]: unknown };
type Issue = { path: string; message: string };

const SCHEMA_URL = new URL("../plugin.schema.json", import.meta.url); // beside src/ and dist/

let cached: Schema | undefined;
function manifestSchema(): Schema {
  cached ??= JSON.parse(fs.readFileSync(SCHEMA_URL, "utf8")) as Schema;
  return cached;
}

const show = (v: unknown) => JSON.stringify(v);

/** The validation keywords this checker applies (with JSON Schema 2020-12 semantics). */
export const APPLIED: ReadonlySet<string> = new Set([
  "type",
  "const",
  "enum",
  "anyOf",
  "oneOf",
  "minLength",
  "pattern",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "minItems",
  "maxItems",
  "items",
  "prefixItems",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
]);

/** Keywords that validate nothing (2020-12 annotations and identifiers): skipped on purpose. */
export const ANNOTATIONS: ReadonlySet<string> = new Set([
  "$schema",
  "$id",
  "$comment",
  "title",
  "description",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
]);

/** A keyword the checker cannot apply: an error in the SDK (its schema and checker disagree), not in the plugin. */
export class UnsupportedSchemaKeywordError extends Error {
  constructor(
    readonly keyword: string,
    at: string,
  ) {
    super(`plugin.schema.json uses "${keyword}" (at ${at || "(root)"}), which the SDK's schema check does not apply: update @chorus-tts/sdk's schema-check.ts`);
  }
}

function typeOk(type: string, value: unknown): boolean {
  switch (type) {
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "null":
      return value === null;
    default:
      return typeof value === type;
  }
}

function check(schema: Schema, value: unknown, at: string, out: Issue[]): void {
  if (schema === true) return;
  if (schema === false) {
    out.push({ path: at, message: "is not allowed here" });
    return;
  }
  const s = schema;
  for (const keyword of Object.keys(s)) if (!APPLIED.has(keyword) && !ANNOTATIONS.has(keyword)) throw new UnsupportedSchemaKeywordError(keyword, at);
  const issue = (message: string, path = at): void => {
    out.push({ path, message });
  };
  // anyOf: at least one alternative; oneOf: exactly one (as JSON Schema says; zod writes its
  // discriminated unions as oneOf, whose alternatives exclude each other). Sibling keywords apply too.
  for (const keyword of ["anyOf", "oneOf"] as const) {
    const alternatives = s[keyword] as Schema[] | undefined;
    if (!alternatives) continue;
    const tries = alternatives.map((alt) => {
      const found: Issue[] = [];
      check(alt, value, at, found);
      return found;
    });
    const passed = tries.filter((t) => t.length === 0).length;
    if (passed === 0) {
      // Every alternative fails: report the one that came closest (fewest problems).
      out.push(...tries.reduce((best, t) => (t.length < best.length ? t : best)));
      return;
    }
    if (keyword === "oneOf" && passed > 1) {
      issue(`matches ${passed} of the alternatives where exactly one must match`);
      return;
    }
  }
  if (typeof s.type === "string" && !typeOk(s.type, value)) {
    issue(`expected ${s.type}, got ${show(value)}`);
    return;
  }
  if ("const" in s && value !== s.const) {
    issue(`must be ${show(s.const)}, got ${show(value)}`);
    return;
  }
  if (Array.isArray(s.enum) && !s.enum.includes(value)) {
    issue(`must be one of ${s.enum.map(show).join(", ")}, got ${show(value)}`);
    return;
  }
  if (typeof value === "string") {
    if (typeof s.minLength === "number" && value.length < s.minLength)
      issue(s.minLength === 1 ? "must not be empty" : `shorter than ${s.minLength} characters`);
    if (typeof s.pattern === "string" && !new RegExp(s.pattern).test(value)) issue(`${show(value)} does not match ${s.pattern}`);
  }
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) issue(`must be >= ${s.minimum}, got ${value}`);
    if (typeof s.maximum === "number" && value > s.maximum) issue(`must be <= ${s.maximum}, got ${value}`);
    if (typeof s.exclusiveMinimum === "number" && value <= s.exclusiveMinimum) issue(`must be > ${s.exclusiveMinimum}, got ${value}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) issue(`needs at least ${s.minItems} item(s), got ${value.length}`);
    if (typeof s.maxItems === "number" && value.length > s.maxItems) issue(`takes at most ${s.maxItems} item(s), got ${value.length}`);
    const prefix = (s.prefixItems ?? []) as Schema[];
    value.forEach((item, i) => {
      const itemSchema = i < prefix.length ? prefix[i] : (s.items as Schema | undefined);
      if (itemSchema !== undefined) check(itemSchema, item, `${at}${at ? "." : ""}${i}`, out);
    });
  }
  if (typeOk("object", value)) {
    const object = value as Record<string, unknown>;
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    const join = (key: string) => `${at}${at ? "." : ""}${key}`;
    for (const key of (s.required ?? []) as string[]) if (!(key in object)) issue("is required", join(key));
    for (const [key, item] of Object.entries(object)) {
      if (s.propertyNames !== undefined) check(s.propertyNames as Schema, key, join(key), out);
      if (Object.hasOwn(properties, key)) check(properties[key]!, item, join(key), out);
      else if (s.additionalProperties === false) issue(`unknown field${s.properties ? ` (known: ${Object.keys(properties).join(", ")})` : ""}`, join(key));
      else if (s.additionalProperties !== undefined) check(s.additionalProperties as Schema, item, join(key), out);
    }
  }
}

/**
 * What `schema` refuses in `value`, by field path (the bundled plugin.schema.json by default);
 * throws UnsupportedSchemaKeywordError for a keyword it does not apply.
 */
export function schemaIssues(value: unknown, schema: Schema = manifestSchema()): Issue[] {
  const issues: Issue[] = [];
  check(schema, value, "", issues);
  return issues;
}

/** Throws a TypeError naming each field of `manifest` that plugin.schema.json refuses. */
export function checkManifestShape(manifest: unknown, file = "plugin.json"): void {
  const issues = schemaIssues(manifest);
  if (issues.length) throw new TypeError(`invalid ${file}: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`);
}
