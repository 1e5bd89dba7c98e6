/**
 * The `chorus` usage text, one entry per command, and usage errors. A usage error prints the
 * one relevant usage line and points at `chorus help CMD`; `chorus help` prints everything.
 * No command module imports main.ts for these (that import circle is gone).
 */
import { TORCH_FLAG } from "../python/torch-choice.ts";

/** Bad arguments: exit code 2, the command's usage line, and `chorus help CMD`. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage applies (`say`, `engine`, ...), when known. */
    readonly command?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

export interface CommandHelp {
  name: string;
  /** Usage lines, each `NAME ARGS   description` (aligned at column 30). */
  lines: string[];
}

const line = (head: string, text: string) => (head.length < 28 ? `  ${head.padEnd(28)}${text}` : `  ${head}\n${" ".repeat(30)}${text}`);

export const COMMANDS: CommandHelp[] = [
  { name: "serve", lines: [line("serve [--host H] [--port N]", "start the HTTP server (default 127.0.0.1:7851; npm start -- --port N)")] },
  { name: "wyoming", lines: [line("wyoming [--host H --port P]", "only the Wyoming server, for Home Assistant (default 127.0.0.1:10200)")] },
  {
    name: "say",
    lines: [
      line("say TEXT [-o out.wav]", "speak TEXT (or stdin) to a file (format from its extension: .mp3, .flac...) or stdout (WAV)"),
      `        [--engine ID] [--voice ID|ENGINE:VOICE|LANG] [--speed N] [--pitch N] [--format wav|pcm|mp3|opus|aac|flac]`,
    ],
  },
  { name: "engines", lines: [line("engines [--json] [--url U]", "list installed engines and their state (from the running server when one answers)")] },
  { name: "voices", lines: [line("voices [--engine ID] [--json]", "list an engine's voices")] },
  { name: "use", lines: [line("use ID", "make ID the default engine (persisted; a running server follows)")] },
  {
    name: "plugin",
    lines: [
      line("plugin new NAME [DIR]", "scaffold a plugin from the template into plugins/NAME"),
      `        [--python]            ...a Python plugin (examples/plugin-template-python)`,
      line("plugin check DIR", "validate a plugin: manifest, import, load, voices, a test synthesis"),
      line("plugin setup ID", "build a Python plugin's environment (in the data folder)"),
      `        [--python PATH] [${TORCH_FLAG}] [--dry-run] [--force]`,
    ],
  },
  { name: "doctor", lines: [line("doctor", "check Python, plugin environments, torch/CUDA, GPUs, model files")] },
  {
    name: "engine",
    lines: [
      line("engine status", "devices, loaded engines and recent decisions of a running server"),
      line("engine pin|unpin ID", "keep ID loaded (never evicted or expired) / release the pin"),
      line("engine unload ID", "unload ID now (after its running requests)"),
      line("engine lowvram ID on|off", "low-VRAM mode: skip GPU profiles that keep the whole model resident"),
      line("engine keepalive ID SECONDS", "idle seconds before unloading (0 = at once, -1 = never, default = config)"),
      `        [--url http://HOST:PORT]  (default: server.host and server.port of the configuration)`,
    ],
  },
  { name: "wav-fix", lines: [line("wav-fix FILE...", "write the real sizes into WAVs saved from a stream (their header says 'unknown')")] },
  { name: "help", lines: [line("help [COMMAND]", "this help, or one command's")] },
];

/** Adds a built-in command's help that lives in its own module (finetune), before `help`. */
export function addCommandHelp(help: CommandHelp): void {
  if (COMMANDS.some((c) => c.name === help.name)) return;
  COMMANDS.splice(
    COMMANDS.findIndex((c) => c.name === "wav-fix"),
    0,
    help,
  );
}

const GLOBAL = `Global options:
  --config FILE               configuration file (JSON), merged over config/default.json
  --json                      machine-readable output (engines, voices, engine)
  -h, --help                  this help (chorus help COMMAND: one command's)
  --version                   the Chorus version

Environment: CHORUS_<SECTION>__<KEY>=value overrides the configuration,
e.g. CHORUS_SERVER__PORT=8000 CHORUS_COMPAT__API_KEY=s3cret; every variable is listed in
docs/configuration.md. Commands that talk to a server (engine, engines) use the same
server.host, server.port and compat.apiKey as serve.`;

/** The whole usage text (`chorus help`), with the plugins' commands appended by the caller. */
export function fullUsage(): string {
  return `Usage: chorus <command> [options]\n\nCommands:\n${COMMANDS.flatMap((c) => c.lines).join("\n")}\n\n${GLOBAL}`;
}

/** The usage of one command (`chorus help say`), or undefined when there is no such command. */
export function commandUsage(name: string): string | undefined {
  const command = COMMANDS.find((c) => c.name === name);
  return command ? `Usage: chorus ${command.lines.map((l) => l.trimStart()).join("\n       ")}` : undefined;
}

/** What a usage error prints: the message, the command's usage line(s), where to read more. */
export function usageErrorText(err: UsageError): string {
  const usage = err.command ? commandUsage(err.command) : undefined;
  const more = err.command && usage ? `chorus help ${err.command}` : "chorus help";
  return `chorus: ${err.message}\n${usage ? `${usage}\n` : ""}(see ${more})\n`;
}

/** `-h` or `--help` among a command's (or subcommand's) arguments (before a `--`). */
export function wantsHelp(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/** A failure the user can act on, said in one line (exit code 1, no stack trace). */
export class CliFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliFailure";
  }
}
