/**
 * `chorus <command>`: serve | say | engines | voices | use | plugin | engine, plus the
 * commands plugins declare (plugin-commands.ts). Exit codes: 0 ok, 1 failure, 2 bad usage or
 * invalid configuration.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { ChorusError } from "../errors.ts";
import { validateSettings } from "../registry/settings.ts";
import { serveCommand } from "./serve.ts";
import { wyomingCommand } from "./wyoming.ts";
import { sayCommand } from "./say.ts";
import { enginesCommand, voicesCommand } from "./list.ts";
import { pluginCommand, useCommand } from "./plugin.ts";
import { ENGINE_USAGE, EngineUsageError, ServerUnreachableError, engineCommand } from "./scheduler.ts";
import { doctorCommand } from "./doctor.ts";
import { FINETUNE_USAGE, finetuneCommand } from "./finetune.ts";
import { BUILTIN_COMMANDS, findPluginCommands, loadPluginCommand, matchPluginCommand, pluginCommandHelp, type PluginCommand } from "./plugin-commands.ts";

export class UsageError extends Error {}

const USAGE = `Usage: chorus <command> [options]

Commands:
  serve                       start the HTTP server (default 127.0.0.1:7851)
  wyoming [--host H --port P] only the Wyoming server, for Home Assistant (default 127.0.0.1:10200)
  say TEXT [-o out.wav]       speak TEXT (or stdin) to a WAV file, or to stdout
        [--engine ID] [--voice ID] [--speed N] [--pitch N] [--format wav|pcm]
  engines                     list installed engines and their state
  voices [--engine ID]        list an engine's voices
  use ID                      make ID the default engine (persisted; a running server follows)
  plugin new NAME [DIR]       scaffold a plugin from the template into plugins/NAME
        [--python]            ...a Python plugin (examples/plugin-template-python)
  plugin check DIR            validate a plugin: manifest, import, load, voices, a test synthesis
  plugin setup ID             build a Python plugin's environment (in the data folder)
        [--python PATH] [--torch cpu|cuda|auto] [--dry-run] [--force]
  doctor                      check Python, plugin environments, torch/CUDA, GPUs, model files
${ENGINE_USAGE}
${FINETUNE_USAGE}

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
  python: { type: "string" },
  torch: { type: "string" },
  "dry-run": { type: "boolean" },
  runtime: { type: "string" },
  force: { type: "boolean" },
} satisfies ParseArgsConfig["options"];

export type CliValues = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  // `plugin new NAME --python` is a flag there, while `plugin setup --python PATH` takes a value.
  const args = argv[0] === "plugin" && argv[1] === "new" ? argv.map((a) => (a === "--python" ? "--runtime=python" : a)) : argv;
  return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
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

/** `--config FILE` (or `--config=FILE`) taken out of argv, wherever it is. */
function takeConfigFlag(argv: string[]): { config?: string; rest: string[] } {
  const rest: string[] = [];
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === "--config" && i + 1 < argv.length) config = argv[++i];
    else if (arg.startsWith("--config=")) config = arg.slice("--config=".length);
    else rest.push(arg);
  }
  return { config, rest };
}

/** The usage text with the plugins' commands (none listed when the configuration is invalid). */
function usage(configFile?: string): string {
  try {
    return `${USAGE}\n${pluginCommandHelp(findPluginCommands(cliConfig({ config: configFile } as CliValues)))}`;
  } catch {
    return USAGE;
  }
}

/**
 * Runs a plugin's command when argv names one (`chorus phonemize ...`, `chorus voices install
 * ...`); undefined when it names none, so the built-in commands get their turn.
 */
async function runPluginCommand(argv: string[]): Promise<number | undefined> {
  const { config: configFile, rest } = takeConfigFlag(argv);
  const words: string[] = [];
  for (const arg of rest) {
    if (arg.startsWith("-") || words.length === 2) break;
    words.push(arg);
  }
  const [first] = words;
  if (!first || (BUILTIN_COMMANDS.includes(first) && !(first === "voices" && words.length > 1))) return undefined;
  const config = cliConfig({ config: configFile } as CliValues);
  const match = matchPluginCommand(words, findPluginCommands(config).commands);
  if (!match) return undefined;
  const command: PluginCommand = match.command;
  const name = `chorus ${command.spec.name}`;
  const settings = validateSettings(command.manifest, config.engines.settings[command.pluginId]);
  if (!settings.ok) {
    process.stderr.write(`${name}: ${settings.error}\n`);
    return 2;
  }
  const definition = await loadPluginCommand(command);
  try {
    return await definition.run({
      argv: rest.slice(match.used),
      settings: settings.settings,
      pluginDir: command.pluginDir,
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
    });
  } catch (err) {
    const error = err as Error & { code?: string };
    // Bad arguments: the command's own CommandUsageError, or node:util parseArgs' errors.
    if (error.name === "CommandUsageError" || error.code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${name}: ${error.message}\nUsage: ${name}${command.spec.usage ? ` ${command.spec.usage}` : ""}\n`);
      return 2;
    }
    process.stderr.write(`${name}: ${error.message}${error.code && !error.code.startsWith("ERR_") ? ` [${error.code}]` : ""}\n`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    const code = await runPluginCommand(argv);
    if (code !== undefined) return code;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`chorus: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`chorus: ${(err as Error).message}\n`);
    return 1;
  }
  // `finetune` parses its own options (core/cli/finetune.ts).
  const split = takeConfigFlag(argv);
  if (split.rest[0] === "finetune") return finetuneCommand(split.rest.slice(1), split.config);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`chorus: ${(err as Error).message}\n\n${usage(takeConfigFlag(argv).config)}\n`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || !command) {
    (parsed.values.help ? process.stdout : process.stderr).write(`${usage(parsed.values.config)}\n`);
    return command || parsed.values.help ? 0 : 2;
  }
  try {
    switch (command) {
      case "help":
        process.stdout.write(`${usage(parsed.values.config)}\n`);
        return 0;
      case "serve":
        return await serveCommand(parsed.values);
      case "wyoming":
        return await wyomingCommand(parsed.values);
      case "say":
        return await sayCommand(rest, parsed.values);
      case "engines":
        return await enginesCommand(parsed.values);
      case "voices":
        if (rest.length) throw new UsageError(`voices takes no arguments (got '${rest.join(" ")}'); subcommands such as 'voices install' come from plugins, see chorus --help`);
        return await voicesCommand(parsed.values);
      case "use":
        return await useCommand(rest, parsed.values);
      case "plugin":
        return await pluginCommand(rest, parsed.values);
      case "doctor":
        return await doctorCommand(parsed.values);
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
      process.stderr.write(`chorus: ${err.message}\n\n${usage(parsed.values.config)}\n`);
      return 2;
    }
    if (err instanceof ChorusError) {
      process.stderr.write(`chorus: ${err.message} [${err.code}]\n`);
      return 1;
    }
    if (err instanceof Error && err.name === "AbortError") {
      process.stderr.write("chorus: cancelled\n");
      return 130; // as a shell reports an interrupted command
    }
    if (err instanceof ServerUnreachableError) {
      process.stderr.write(`chorus: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`chorus: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
