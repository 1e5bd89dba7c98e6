/**
 * The CLI's flags and the configuration a command runs with: the same files and `CHORUS_*`
 * variables as `serve`, with `--host`/`--port` on top. Commands that talk to a running server
 * find it from that configuration (`serverUrl`) and send its API key (`serverHeaders`).
 */
import fs from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, loadConfig, resolvePath } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { UsageError } from "./usage.ts";

export const OPTIONS = {
  config: { type: "string" },
  engine: { type: "string" },
  voice: { type: "string" },
  speed: { type: "string" },
  pitch: { type: "string" },
  format: { type: "string" },
  output: { type: "string", short: "o" },
  host: { type: "string" },
  url: { type: "string" },
  port: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  python: { type: "string" },
  torch: { type: "string" },
  "dry-run": { type: "boolean" },
  runtime: { type: "string" },
  force: { type: "boolean" },
} satisfies ParseArgsConfig["options"];

export function parseCli(argv: string[]) {
  // `plugin new NAME --python` is a flag there, while `plugin setup --python PATH` takes a value.
  const args = argv[0] === "plugin" && argv[1] === "new" ? argv.map((a) => (a === "--python" ? "--runtime=python" : a)) : argv;
  return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
}

export type CliValues = ReturnType<typeof parseCli>["values"];

/** Config for a command; commands other than `serve` log only warnings unless told otherwise. */
export function cliConfig(values: CliValues, quiet = true): Config {
  const overrides: Record<string, unknown> = {};
  if (quiet && !process.env.CHORUS_LOG__LEVEL) overrides.log = { level: "warn" };
  if (values.host !== undefined || values.port !== undefined) {
    const server: Record<string, unknown> = {};
    if (values.host !== undefined) server.host = values.host;
    if (values.port !== undefined) server.port = portFlag(values.port, "serve");
    overrides.server = server;
  }
  return loadConfig({ file: values.config, overrides });
}

/** `--port` as a port number (0-65535), else a usage error of `command`. */
export function portFlag(raw: string, command: string): number {
  const port = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number (0-65535), got '${raw}'`, command);
  return port;
}

export function numberFlag(name: string, raw: string | undefined, command?: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || raw.trim() === "") throw new UsageError(`--${name} must be a number, got '${raw}'`, command);
  return n;
}

/** The address a client uses for the configured server (a wildcard listen address is reached on loopback). */
export function serverUrl(config: Config, url?: string): string {
  if (url) {
    if (!/^https?:\/\/[^/]/i.test(url)) throw new UsageError(`--url must be the server's address, http://HOST:PORT (got '${url}')`);
    return url.replace(/\/+$/, "");
  }
  let host = config.server.host;
  if (host === "0.0.0.0" || host === "") host = "127.0.0.1";
  else if (host === "::" || host === "[::]") host = "::1";
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  return `http://${host}:${config.server.port}`;
}

/** Headers a CLI request to the server carries: the API key when one is configured. */
export function serverHeaders(config: Config): Record<string, string> {
  return config.compat.apiKey ? { authorization: `Bearer ${config.compat.apiKey}` } : {};
}

/**
 * The data folder (`dataDir`), made when missing, or a configuration error naming the key and
 * the fix when it cannot be written (a file in its path, a read-only disk): commands that write
 * there (serve, wyoming, say, use) check it first instead of failing deep inside with a trace.
 */
export function ensureDataDir(config: Config): string {
  const dir = resolvePath(config.dataDir);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new ConfigError(
      `the data folder ${dir} (dataDir) cannot be written: ${(err as Error).message}; set dataDir in the configuration or CHORUS_DATA_DIR to a writable folder`,
    );
  }
  return dir;
}

/**
 * What to tell a user whose default engine is not installed (`engines.default` naming a
 * removed or misspelled plugin), or undefined when it is: requests that name no engine fail.
 */
export function missingDefault(
  registry: { get(id: string): unknown; selection: { current(): string } },
  fix = "name one with --engine ID or make one the default with chorus use ID",
): string | undefined {
  const id = registry.selection.current();
  if (registry.get(id)) return undefined;
  return `the default engine '${id}' (engines.default, CHORUS_ENGINES__DEFAULT) is not installed; ${fix} (chorus engines lists them)`;
}
