/**
 * Subcommands that plugins add to `chorus` (manifest `commands`, SDK `defineCommand`).
 * Found from the manifests alone (no plugin code runs to list them); a command's module is
 * imported only when it is run, in this CLI process.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Config } from "../config/schema.ts";
import { resolvePath } from "../config/load.ts";
import { pluginFolders, readPluginFolder } from "../registry/plugin-folder.ts";
import type { CommandDefinition, CommandSpec, Manifest } from "../../packages/sdk/src/index.ts";

/** Built-in commands; a plugin command may not take their names (`voices X` is allowed). */
export const BUILTIN_COMMANDS = ["serve", "wyoming", "say", "engines", "voices", "use", "plugin", "engine", "finetune", "help", "doctor", "wav-fix"];
/** Built-ins with subcommands of their own: no plugin command may start with them. */
const BUILTIN_GROUPS = ["plugin", "engine"];

export interface PluginCommand {
  spec: CommandSpec;
  pluginId: string;
  pluginDir: string;
  manifest: Manifest;
}

export interface PluginCommandList {
  commands: PluginCommand[];
  /** Declarations that were refused (clash with a built-in or with another plugin). */
  problems: string[];
}

/** Why a declared name cannot be used, if it cannot. */
function reservedReason(name: string): string | undefined {
  const words = name.split(" ");
  if (words.length === 1 && BUILTIN_COMMANDS.includes(name)) return `'${name}' is a built-in command`;
  if (BUILTIN_GROUPS.includes(words[0]!)) return `'${words[0]}' subcommands are built in`;
  return undefined;
}

/** The commands declared by the available plugins in the configured engine folders. */
export function findPluginCommands(config: Config): PluginCommandList {
  const commands: PluginCommand[] = [];
  const problems: string[] = [];
  const seenPlugins = new Set<string>();
  for (const root of config.engines.dirs.map(resolvePath)) {
    for (const dir of pluginFolders(root)) {
      const entry = readPluginFolder(dir);
      if (entry.status !== "available" || seenPlugins.has(entry.id)) continue;
      seenPlugins.add(entry.id);
      for (const spec of entry.manifest.commands) {
        const reserved = reservedReason(spec.name);
        const owner = commands.find((c) => c.spec.name === spec.name);
        if (reserved) problems.push(`plugin ${entry.id}: command '${spec.name}' ignored: ${reserved}`);
        else if (owner) problems.push(`plugin ${entry.id}: command '${spec.name}' ignored: plugin ${owner.pluginId} declares it too`);
        else commands.push({ spec, pluginId: entry.id, pluginDir: dir, manifest: entry.manifest });
      }
    }
  }
  return { commands, problems };
}

/**
 * The plugin command named by the leading words of `words` (longest name first), with the
 * number of words it used.
 */
export function matchPluginCommand(words: string[], commands: PluginCommand[]): { command: PluginCommand; used: number } | undefined {
  for (const used of [2, 1]) {
    if (words.length < used) continue;
    const name = words.slice(0, used).join(" ");
    const command = commands.find((c) => c.spec.name === name);
    if (command) return { command, used };
  }
  return undefined;
}

/** Imports the command's module and checks that it default-exports `defineCommand(...)`. */
export async function loadPluginCommand(command: PluginCommand): Promise<CommandDefinition> {
  const file = path.resolve(command.pluginDir, command.spec.module);
  const where = `plugin ${command.pluginId}, command '${command.spec.name}'`;
  if (!file.startsWith(path.resolve(command.pluginDir) + path.sep) || !fs.existsSync(file)) {
    throw new Error(`${where}: module '${command.spec.module}' not found in the plugin folder`);
  }
  const mod = (await import(pathToFileURL(file).href)) as { default?: Partial<CommandDefinition> };
  if (typeof mod.default?.run !== "function") throw new Error(`${where}: ${command.spec.module} has no default export from defineCommand()`);
  return mod.default as CommandDefinition;
}

/** One plugin command's usage (`chorus help phonemize`, or its `--help` when the command has none of its own). */
export function pluginCommandUsage(command: PluginCommand): string {
  const head = `Usage: chorus ${command.spec.name}${command.spec.usage ? ` ${command.spec.usage}` : ""}`;
  return `${head}\n${command.spec.description || "(no description)"}  [plugin ${command.pluginId}]`;
}

/** Help lines for `chorus --help`, aligned with the built-in ones. */
export function pluginCommandHelp(list: PluginCommandList): string {
  if (!list.commands.length && !list.problems.length) return "";
  const lines = list.commands.map((c) => {
    const head = `  ${c.spec.name}${c.spec.usage ? ` ${c.spec.usage}` : ""}`;
    const text = `${c.spec.description || "(no description)"}  [plugin ${c.pluginId}]`;
    return head.length < 30 ? `${head.padEnd(30)}${text}` : `${head}\n${" ".repeat(30)}${text}`;
  });
  return `\nPlugin commands:\n${lines.join("\n")}${list.problems.map((p) => `\n  (${p})`).join("")}\n`;
}
