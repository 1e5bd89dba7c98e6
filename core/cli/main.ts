/**
 * `chorus <command>`: serve | say | engines | voices | use | plugin. Exit codes: 0 ok, 1 failure,
 * 2 bad usage or invalid configuration.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { ChorusError } from "../errors.ts";
import { serveCommand } from "./serve.ts";
import { sayCommand } from "./say.ts";
import { enginesCommand, voicesCommand } from "./list.ts";
import { pluginCommand, useCommand } from "./plugin.ts";
import { ENGINE_USAGE, EngineUsageError, engineCommand } from "./scheduler.ts";

export class UsageError extends Error {}

const USAGE = `Usage: chorus <command> [options]

Commands:
  serve                       start the HTTP server (default 127.0.0.1:7851)
  say TEXT [-o out.wav]       speak TEXT (or stdin) to a WAV file, or to stdout
        [--engine ID] [--voice ID] [--speed N] [--pitch N] [--format wav|pcm]
  engines                     list installed engines and their state
  voices [--engine ID]        list an engine's voices
  use ID                      make ID the default engine (persisted; a running server follows)
  plugin new NAME [DIR]       scaffold a plugin from the template into plugins/NAME
  plugin check DIR            validate a plugin: manifest, import, load, voices, a test synthesis
${ENGINE_USAGE}

Global options:
  --config FILE               configuration file (JSON), merged over config/default.json
  --json                      machine-readable output (engines, voices)
  -h, --help                  this help

Environment: CHORUS_<SECTION>__<KEY>=value overrides the configuration,
e.g. CHORUS_SERVER__PORT=8000 CHORUS_LOG__LEVEL=debug.`;

const OPTIONS = {
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
} satisfies ParseArgsConfig["options"];

export type CliValues = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

/** Config for a command; commands other than `serve` log only warnings unless told otherwise. */
export function cliConfig(values: CliValues, quiet = true): Config {
  const overrides: Record<string, unknown> = {};
  if (quiet && !process.env.CHORUS_LOG__LEVEL) overrides.log = { level: "warn" };
  if (values.host !== undefined || values.port !== undefined) {
    const server: Record<string, unknown> = {};
    if (values.host !== undefined) server.host = values.host;
    if (values.port !== undefined) server.port = Number(values.port);
    overrides.server = server;
  }
  return loadConfig({ file: values.config, overrides });
}

export function numberFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${raw}'`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`chorus: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || !command) {
    (command ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return command || parsed.values.help ? 0 : 2;
  }
  try {
    switch (command) {
      case "serve":
        return await serveCommand(parsed.values);
      case "say":
        return await sayCommand(rest, parsed.values);
      case "engines":
        return await enginesCommand(parsed.values);
      case "voices":
        return await voicesCommand(parsed.values);
      case "use":
        return await useCommand(rest, parsed.values);
      case "plugin":
        return await pluginCommand(rest, parsed.values);
      case "engine":
        return await engineCommand(rest, { url: parsed.values.url, json: parsed.values.json }).catch((err: unknown) => {
          throw err instanceof EngineUsageError ? new UsageError(err.message) : err;
        });
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`chorus: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`chorus: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof ChorusError) {
      process.stderr.write(`chorus: ${err.message} [${err.code}]\n`);
      return 1;
    }
    process.stderr.write(`chorus: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
