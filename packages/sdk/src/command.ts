/**
 * Plugin commands: a plugin may add subcommands to the `chorus` CLI (Piper adds
 * `chorus phonemize` and `chorus voices install`). The manifest declares them under
 * `commands` (name, module, usage) so `chorus --help` lists them without running plugin
 * code; the CLI imports the module only when the command is run, in its own process (never
 * in the server). The module default-exports `defineCommand({ run })`.
 */

/** Standard input as a command sees it (Node's `process.stdin` is one). */
export interface CommandInput extends AsyncIterable<Uint8Array | string> {
  isTTY?: boolean;
}

/** Standard output or error (Node's `process.stdout` is one). */
export interface CommandOutput {
  write(chunk: string | Uint8Array): boolean;
  isTTY?: boolean;
}

export interface CommandContext {
  /** The arguments after the command's words (global `--config` already removed). */
  argv: string[];
  /** This plugin's settings from the host configuration (`engines.settings.<id>`), validated against the manifest's `settings` schema. */
  settings: Record<string, unknown>;
  /** The plugin's folder. */
  pluginDir: string;
  stdin: CommandInput;
  stdout: CommandOutput;
  stderr: CommandOutput;
}

export interface CommandDefinition {
  /** Runs the command and resolves to its exit code (0 ok, 1 failure, 2 bad usage). */
  run(context: CommandContext): Promise<number> | number;
}

/**
 * Thrown by a command for bad arguments: the CLI prints the message and the command's usage
 * line, and exits with 2.
 */
export class CommandUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandUsageError";
  }
}

export function defineCommand(definition: CommandDefinition): CommandDefinition {
  if (typeof definition?.run !== "function") throw new TypeError("defineCommand: `run` must be a function");
  return definition;
}
