/**
 * `chorus <command>`: serve | say | engines | voices | use | plugin | engine, plus the
 * commands plugins declare (plugin-commands.ts). Exit codes: 0 ok, 1 failure, 2 bad usage or
 * invalid configuration.
 */
import fs from "node:fs";
import path from "node:path";
import { CHORUS_ROOT, ConfigError } from "../config/load.ts";
import { ChorusError } from "../errors.ts";
import { ServerError, ServerUnreachableError, engineCommand } from "./scheduler.ts";
import { FINETUNE_USAGE } from "./finetune-usage.ts";
import {
  BUILTIN_COMMANDS,
  findPluginCommands,
  loadPluginCommand,
  matchPluginCommand,
  pluginCommandHelp,
  pluginCommandUsage,
  type PluginCommand,
} from "./plugin-commands.ts";
import { cliConfig, parseCli, serverHeaders, serverUrl, type CliValues } from "./options.ts";
import { COMMANDS, CliFailure, UsageError, addCommandHelp, commandUsage, fullUsage, usageErrorText, wantsHelp } from "./usage.ts";

addCommandHelp({ name: "finetune", lines: FINETUNE_USAGE.split("\n") });

// Each command's module is loaded when it runs: `chorus help` or a usage error does not load
// the server, the engines' host or the fine-tune code (a start in ~1 s instead of ~2.5 s).

// Kept for modules and plugins that import these from main.ts.
export { UsageError } from "./usage.ts";
export { cliConfig, numberFlag, type CliValues } from "./options.ts";

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
    return `${fullUsage()}\n${pluginCommandHelp(findPluginCommands(cliConfig({ config: configFile } as CliValues)))}`;
  } catch {
    return fullUsage();
  }
}

/** The command names, built-in and from plugins, for an unknown-command message. */
function commandNames(configFile?: string): string {
  const builtin = COMMANDS.map((c) => c.name).join(", ");
  try {
    const plugins = findPluginCommands(cliConfig({ config: configFile } as CliValues)).commands.map((c) => c.spec.name);
    return plugins.length ? `${builtin}; from plugins: ${plugins.join(", ")}` : builtin;
  } catch {
    return builtin;
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
  const { validateSettings } = await import("../registry/settings.ts");
  const settings = validateSettings(command.manifest, config.engines.settings[command.pluginId]);
  if (!settings.ok) {
    process.stderr.write(`${name}: ${settings.error}\n`);
    return 2;
  }
  const definition = await loadPluginCommand(command);
  const args = rest.slice(match.used);
  try {
    return await definition.run({
      argv: args,
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
      // --help that the command does not take itself: its usage, as for a built-in command.
      if (wantsHelp(args)) {
        process.stdout.write(`${pluginCommandUsage(command)}\n`);
        return 0;
      }
      process.stderr.write(`${name}: ${error.message}\nUsage: ${name}${command.spec.usage ? ` ${command.spec.usage}` : ""}\n`);
      return 2;
    }
    process.stderr.write(`${name}: ${error.message}${error.code && !error.code.startsWith("ERR_") ? ` [${error.code}]` : ""}\n`);
    return 1;
  }
}

/** A catalogue error's message with its pointers at HTTP routes as the commands that show the same lists. */
function asCommandHint(err: ChorusError): string {
  const message = err.message
    .replace(/\(GET \/api\/voices\?engine=([\w.-]+) lists them\)/, "(chorus voices --engine $1 lists them)")
    .replace(/\(GET \/api\/engines lists them\)/, "(chorus engines lists them)");
  return err.code === "CHORUS_ERR_ENGINE_NOT_FOUND" && !message.includes("lists them") ? `${message} (chorus engines lists them)` : message;
}

/** `chorus help phonemize`, `chorus help voices install`: a plugin command's usage, if `words` name one. */
function pluginUsage(words: string[], configFile?: string): string | undefined {
  try {
    const match = matchPluginCommand(words, findPluginCommands(cliConfig({ config: configFile } as CliValues)).commands);
    return match && pluginCommandUsage(match.command);
  } catch {
    return undefined;
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
  if (split.rest[0] === "finetune") return (await import("./finetune.ts")).finetuneCommand(split.rest.slice(1), split.config);
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (err) {
    const command = argv.find((a) => !a.startsWith("-"));
    process.stderr.write(usageErrorText(new UsageError((err as Error).message, command && commandUsage(command) ? command : undefined)));
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.version && !command) {
    const { version } = JSON.parse(fs.readFileSync(path.join(CHORUS_ROOT, "package.json"), "utf8")) as { version: string };
    process.stdout.write(`chorus ${version} (Node.js ${process.versions.node})\n`);
    return 0;
  }
  if (parsed.values.help && command && command !== "help" && commandUsage(command)) {
    process.stdout.write(`${commandUsage(command)}\n`);
    return 0;
  }
  if (parsed.values.help || !command) {
    (parsed.values.help ? process.stdout : process.stderr).write(`${usage(parsed.values.config)}\n`);
    return command || parsed.values.help ? 0 : 2;
  }
  try {
    // Commands without arguments (or with one: use ID) refuse the rest rather than ignore it.
    const most = { serve: 0, wyoming: 0, engines: 0, doctor: 0, use: 1 }[command];
    if (most !== undefined && rest.length > most)
      throw new UsageError(`${command} takes ${most ? "one argument" : "no arguments"} (got '${rest.join(" ")}')`, command);
    switch (command) {
      case "help": {
        const [topic] = rest;
        if (!topic) {
          process.stdout.write(`${usage(parsed.values.config)}\n`);
          return 0;
        }
        // `help voices install` is the plugin's command; `help voices` the built-in one.
        const text = (rest.length > 1 ? pluginUsage(rest, parsed.values.config) : undefined) ?? commandUsage(topic) ?? pluginUsage(rest, parsed.values.config);
        if (!text) throw new UsageError(`no command '${rest.join(" ")}'; commands: ${commandNames(parsed.values.config)}`);
        process.stdout.write(`${text}\n`);
        return 0;
      }
      case "serve":
        return await (await import("./serve.ts")).serveCommand(parsed.values);
      case "wyoming":
        return await (await import("./wyoming.ts")).wyomingCommand(parsed.values);
      case "say":
        return await (await import("./say.ts")).sayCommand(rest, parsed.values);
      case "engines":
        return await (await import("./list.ts")).enginesCommand(parsed.values);
      case "voices":
        if (rest.length)
          throw new UsageError(
            `voices takes no arguments (got '${rest.join(" ")}'); subcommands such as 'voices install' come from plugins, see chorus --help`,
            "voices",
          );
        return await (await import("./list.ts")).voicesCommand(parsed.values);
      case "use":
        return await (await import("./plugin.ts")).useCommand(rest, parsed.values);
      case "plugin":
        return await (await import("./plugin.ts")).pluginCommand(rest, parsed.values);
      case "doctor":
        return await (await import("./doctor.ts")).doctorCommand(parsed.values);
      case "wav-fix":
        return (await import("./wav-fix.ts")).wavFixCommand(rest);
      case "engine": {
        const config = cliConfig(parsed.values);
        return await engineCommand(rest, { url: serverUrl(config, parsed.values.url), headers: serverHeaders(config), json: parsed.values.json });
      }
      default:
        throw new UsageError(`unknown command '${command}'; commands: ${commandNames(parsed.values.config)}`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`chorus: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(usageErrorText(err.command ? err : new UsageError(err.message, commandUsage(command) ? command : undefined)));
      return 2;
    }
    if (err instanceof ServerError) {
      process.stderr.write(`chorus: ${err.message} [${err.code}]\n`);
      return 1;
    }
    if (err instanceof ChorusError) {
      process.stderr.write(`chorus: ${asCommandHint(err)} [${err.code}]\n`);
      return 1;
    }
    if (err instanceof Error && err.name === "AbortError") {
      process.stderr.write("chorus: cancelled\n");
      return 130; // as a shell reports an interrupted command
    }
    if (err instanceof ServerUnreachableError || err instanceof CliFailure) {
      process.stderr.write(`chorus: ${err.message}\n`);
      return 1;
    }
    // A file or network call that failed (ENOENT, EACCES, ENOTDIR...): its message names the path.
    if (isSystemError(err)) {
      process.stderr.write(`chorus: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`chorus: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

/** Node's error for a failed system call: `code` (ENOENT...) and `syscall`; its message names the path. */
function isSystemError(err: unknown): err is Error & { code: string; syscall: string } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "string" && typeof (err as { syscall?: unknown }).syscall === "string";
}
