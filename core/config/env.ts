/**
 * `CHORUS_*` environment variables -> configuration keys, read off the zod schema.
 *
 * The rule: `CHORUS_` + the key path, sections separated by `__` (two underscores). Each part
 * is matched against the schema's keys ignoring case and single underscores, so
 * `CHORUS_COMPAT__API_KEY`, `CHORUS_COMPAT__APIKEY` and `CHORUS_COMPAT__apiKey` all set
 * `compat.apiKey`. Where the schema has free keys (a record: engine ids, model names), the part
 * is lower-cased with `_` read as `-` (`CHORUS_SCHEDULER__ENGINES__MY_ENGINE__PINNED` ->
 * `scheduler.engines.my-engine.pinned`); inside a free-form object (engine settings) it becomes
 * camelCase (`VOICES_DIR` -> `voicesDir`). Values are parsed as JSON when they parse (numbers,
 * booleans, arrays), and are strings otherwise. A part that matches no key is kept as written
 * (camelCase), so validation names it.
 * docs/configuration.md lists every variable; it is generated from the schema (`npm run docs:config`).
 */
import type { z } from "zod";
import { ConfigSchema } from "./schema.ts";

type Json = Record<string, unknown>;
// zod 4 keeps a schema's definition in `_zod.def`; only these few fields are read.
type Def = {
  type: string;
  innerType?: z.ZodType;
  valueType?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
  entries?: Record<string, unknown>;
  element?: z.ZodType;
  options?: z.ZodType[];
};
const def = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under optional/nullable/default wrappers, and the default it declares. */
export function unwrap(schema: z.ZodType): { inner: z.ZodType; defaultValue?: unknown; nullable: boolean; optional: boolean } {
  let inner = schema;
  let defaultValue: unknown;
  let nullable = false;
  let optional = false;
  for (;;) {
    const d = def(inner);
    if (d.type === "default" || d.type === "prefault") defaultValue ??= d.defaultValue;
    else if (d.type === "nullable") nullable = true;
    else if (d.type === "optional") optional = true;
    else return { inner, defaultValue, nullable, optional };
    inner = d.innerType!;
  }
}

/** Object keys of a schema (after unwrapping), or undefined when it is not an object. */
function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> | undefined {
  if (!schema) return undefined;
  const { inner } = unwrap(schema);
  const d = def(inner);
  return d.type === "object" ? (inner as unknown as { shape: Record<string, z.ZodType> }).shape : undefined;
}

const squash = (s: string) => s.toLowerCase().replace(/_/g, "");
const camel = (s: string) => s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** One step down the schema: the key a variable part names and the schema under it. */
function step(schema: z.ZodType | undefined, part: string): { key: string; next: z.ZodType | undefined } {
  if (!schema) return { key: camel(part), next: undefined };
  const { inner } = unwrap(schema);
  const d = def(inner);
  if (d.type === "object") {
    const shape = objectShape(inner)!;
    const key = Object.keys(shape).find((k) => squash(k) === squash(part));
    return key ? { key, next: shape[key] } : { key: camel(part), next: undefined };
  }
  if (d.type === "record") {
    const value = unwrap(d.valueType!).inner;
    // A record of objects is keyed by ids (engine ids, model names); otherwise by setting names.
    const idKeyed = def(value).type === "object" || def(value).type === "record";
    return { key: idKeyed ? part.toLowerCase().replace(/_/g, "-") : camel(part), next: d.valueType };
  }
  return { key: camel(part), next: undefined };
}

/**
 * `CHORUS_*` variables that are not settings: the configuration file, the audio encoders'
 * switches (docs/compat.md), the engine protocol's fd (set for engine processes) and the
 * text-generation-webui extension's server address (examples/text-generation-webui).
 */
export const NOT_SETTINGS = ["CHORUS_CONFIG", "CHORUS_ENCODER", "CHORUS_ENCODER_THREADS", "CHORUS_PROTOCOL_FD", "CHORUS_URL"];

/** The `CHORUS_*` variables of `env` with the key path each sets (`CHORUS_SERVER__PORT` -> `["server", "port"]`). */
export function envVariables(
  env: NodeJS.ProcessEnv,
  schema: z.ZodType = ConfigSchema,
): { name: string; raw: string; keys: string[]; at: z.ZodType | undefined }[] {
  const found = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!/^CHORUS_/i.test(name) || raw === undefined || NOT_SETTINGS.includes(name.toUpperCase())) continue;
    const parts = name.slice("CHORUS_".length).split("__").filter(Boolean);
    if (!parts.length) continue;
    let at: z.ZodType | undefined = schema;
    const keys: string[] = [];
    for (const part of parts) {
      const { key, next } = step(at, part);
      keys.push(key);
      at = next;
    }
    found.push({ name, raw, keys, at });
  }
  return found;
}

/** `CHORUS_SERVER__PORT=8000` -> `{ server: { port: 8000 } }`, keys matched against `schema`. */
export function envToConfig(env: NodeJS.ProcessEnv, schema: z.ZodType = ConfigSchema): Json {
  const out: Json = {};
  for (const { raw, keys, at } of envVariables(env, schema)) {
    let node = out;
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    // A string setting keeps what was typed (an API key of digits stays a string).
    if (at && def(unwrap(at).inner).type === "string") value = raw;
    keys.slice(0, -1).forEach((k) => (node = (node[k] && typeof node[k] === "object" ? node[k] : (node[k] = {})) as Json));
    node[keys.at(-1)!] = value;
  }
  return out;
}

export interface EnvVariable {
  /** `CHORUS_SERVER__PORT` */
  name: string;
  /** `server.port` */
  key: string;
  type: string;
  defaultValue: unknown;
}

function describeType(schema: z.ZodType): string {
  const { inner, nullable } = unwrap(schema);
  const d = def(inner);
  let text: string;
  if (d.type === "enum") text = Object.keys(d.entries ?? {}).join(" | ");
  else if (d.type === "array") text = `JSON array of ${describeType(d.element!)}`;
  else if (d.type === "record") text = "JSON object";
  else if (d.type === "union") text = ((d as unknown as { options: z.ZodType[] }).options ?? []).map(describeType).join(" | ");
  else if (d.type === "literal") text = ((d as unknown as { values: unknown[] }).values ?? []).map((v) => JSON.stringify(v)).join(" | ");
  else if (d.type === "number") text = (inner as unknown as { isInt?: boolean }).isInt ? "integer" : "number";
  else text = d.type;
  return nullable ? `${text} | null` : text;
}

const envPart = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
/** Names for the free keys of the schema's records, in the generated list. */
const RECORD_KEYS: Record<string, [string, string]> = {
  "engines.settings": ["engine", "setting"],
  "scheduler.engines": ["engine", "key"],
  "compat.openai.models": ["model", "key"],
  "compat.openai.voices": ["voice", "engine"],
};

/** Every variable the schema accepts (records, whose keys are free, are listed as one). */
export function listEnvVariables(schema: z.ZodType = ConfigSchema, prefix: string[] = []): EnvVariable[] {
  const shape = objectShape(schema);
  if (!shape) return [];
  const out: EnvVariable[] = [];
  for (const [key, child] of Object.entries(shape)) {
    const path = [...prefix, key];
    if (objectShape(child)) {
      out.push(...listEnvVariables(child, path));
      continue;
    }
    const d = def(unwrap(child).inner);
    if (d.type === "record") {
      // The whole record as JSON, then the keys of one entry (`<ENGINE>` stands for the free key).
      out.push({ name: `CHORUS_${path.map(envPart).join("__")}`, key: path.join("."), type: describeType(child), defaultValue: unwrap(child).defaultValue });
      const [free, inner] = RECORD_KEYS[path.join(".")] ?? ["name", "key"];
      const value = unwrap(d.valueType!).inner;
      if (objectShape(value)) out.push(...listEnvVariables(value, [...path, `<${free}>`]));
      else {
        const entry = [...path, `<${free}>`, `<${inner}>`];
        out.push({ name: `CHORUS_${entry.map(envPart).join("__")}`, key: entry.join("."), type: "JSON value", defaultValue: undefined });
      }
      continue;
    }
    out.push({ name: `CHORUS_${path.map(envPart).join("__")}`, key: path.join("."), type: describeType(child), defaultValue: unwrap(child).defaultValue });
  }
  return out;
}
