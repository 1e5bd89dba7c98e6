/**
 * Loads the configuration: `config/default.json`, then the file given with `--config`, then
 * `CHORUS_*` environment variables (`CHORUS_SERVER__PORT=8000` sets `server.port`; the rule is in
 * env.ts, the full list in docs/configuration.md). Validated by zod.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { z } from "zod";
import { ConfigSchema, type Config } from "./schema.ts";
import { envToConfig, envVariables } from "./env.ts";

export { envToConfig };

/** The folder Chorus is installed in (holds package.json, engines/, config/). */
export const CHORUS_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Json = Record<string, unknown>;

function readJson(file: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("top level must be an object");
    return value as Json;
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] =
      value && typeof value === "object" && !Array.isArray(value) && prev && typeof prev === "object" && !Array.isArray(prev)
        ? merge(prev as Json, value as Json)
        : value;
  }
  return out;
}

/**
 * The issues, one a line, each naming its key; `sources` (key path -> the variable that set it)
 * adds the `CHORUS_*` variable an issue comes from, since it is not in any file.
 */
export function formatConfigIssues(error: z.ZodError, sources = new Map<string, string>()): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.join(".") || "(root)";
      const paths = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k].join(".")) : [issue.path.join(".")];
      // The variable that set the key, or one under it (CHORUS_SERVR__PORT for the unknown `servr`).
      const from = [...new Set(paths.flatMap((p) => [...sources].filter(([k]) => k === p || k.startsWith(`${p}.`)).map(([, name]) => name)))];
      return `  ${key}: ${issue.message}${from.length ? ` (from ${from.join(", ")})` : ""}`;
    })
    .join("\n");
}

export interface LoadConfigOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra values applied last (tests, CLI flags). */
  overrides?: Json;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  let raw = readJson(path.join(CHORUS_ROOT, "config", "default.json"));
  const file = options.file ?? env.CHORUS_CONFIG;
  if (file) raw = merge(raw, readJson(path.resolve(file)));
  raw = merge(raw, envToConfig(env));
  if (options.overrides) raw = merge(raw, options.overrides);
  return parseConfig(raw, new Map(envVariables(env).map((v) => [v.keys.join("."), v.name])));
}

/** `sources`: key paths set by environment variables, named in the error (formatConfigIssues). */
export function parseConfig(raw: unknown, sources?: Map<string, string>): Config {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(`invalid configuration:\n${formatConfigIssues(result.error, sources)}`);
  return result.data;
}

/** Resolves a configured path against the Chorus root (absolute paths stay as they are). */
export function resolvePath(p: string): string {
  return path.resolve(CHORUS_ROOT, p);
}
