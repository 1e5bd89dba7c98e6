/**
 * Commands that plugins add to `chorus` (manifest `commands` + SDK `defineCommand`): found
 * from manifests, listed in --help, run with their own arguments and their plugin's
 * settings; clashes with built-ins or other plugins are refused, not silently shadowed.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../core/config/load.ts";
import { findPluginCommands, matchPluginCommand } from "../../core/cli/plugin-commands.ts";
import { runChorusAsync } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";

const ROOT = path.resolve(import.meta.dirname, "fixtures/command-plugins");
const temp = tempDir("commands");
const CONFIG = path.join(temp, "chorus.json");
fs.writeFileSync(CONFIG, JSON.stringify({ engines: { dirs: [ROOT], default: "greeter", settings: { greeter: { politeness: 3 } } } }));

describe("plugin commands", () => {
  const list = findPluginCommands(parseConfig({ engines: { dirs: [ROOT] } }));

  it("are read from manifests; clashes with built-ins or another plugin are refused with a reason", () => {
    expect(list.commands.map((c) => `${c.pluginId}:${c.spec.name}`)).toEqual(["greeter:greet", "greeter:voices sync", "greeter:lost"]);
    expect(list.problems).toEqual([
      "plugin shadow: command 'serve' ignored: 'serve' is a built-in command",
      "plugin shadow: command 'engine reset' ignored: 'engine' subcommands are built in",
      "plugin shadow: command 'greet' ignored: plugin greeter declares it too",
    ]);
  });

  it("match the longest name first", () => {
    expect(matchPluginCommand(["voices", "sync", "x"], list.commands)).toMatchObject({ used: 2, command: { spec: { name: "voices sync" } } });
    expect(matchPluginCommand(["greet", "Ada"], list.commands)).toMatchObject({ used: 1, command: { spec: { name: "greet" } } });
    expect(matchPluginCommand(["voices"], list.commands)).toBeUndefined();
  });

  it("run with their arguments (global --config removed) and their plugin's settings", async () => {
    const result = await runChorusAsync(["--config", CONFIG, "greet", "Ada", "Lovelace", "--shout"]);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      greeting: "HELLO, ADA LOVELACE",
      argv: ["Ada", "Lovelace", "--shout"],
      settings: { politeness: 3 },
      plugin: "greeter",
    });
    const sub = await runChorusAsync(["voices", "sync", "everyone", `--config=${CONFIG}`]);
    expect(sub.status, sub.stderr).toBe(0);
    expect(JSON.parse(sub.stdout)).toMatchObject({ greeting: "Hello, everyone", argv: ["everyone"] });
  });

  it("report bad usage (exit 2), failures (exit 1) and a missing module clearly", async () => {
    const usage = await runChorusAsync(["greet", "--config", CONFIG]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toBe("chorus greet: whom should I greet?\nUsage: chorus greet NAME [--shout]\n");
    const unknown = await runChorusAsync(["greet", "Ada", "--loud", "--config", CONFIG]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--loud'[\s\S]*Usage: chorus greet NAME/);
    const failed = await runChorusAsync(["greet", "fail", "--config", CONFIG]);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toBe("chorus greet: greeting failed on purpose\n");
    const lost = await runChorusAsync(["lost", "--config", CONFIG]);
    expect(lost.status).toBe(1);
    expect(lost.stderr).toMatch(/plugin greeter, command 'lost': module 'missing.ts' not found in the plugin folder/);
  });

  it("are listed in chorus --help, with the refused ones", async () => {
    const dashHelp = await runChorusAsync(["--help", "--config", CONFIG]);
    expect(dashHelp.status).toBe(0);
    expect(dashHelp.stdout).toMatch(/Plugin commands:\n {2}greet NAME \[--shout\] +print a greeting and what the command was given {2}\[plugin greeter\]/);
    expect(dashHelp.stdout).toMatch(/\(plugin shadow: command 'serve' ignored: 'serve' is a built-in command\)/);
    const help = await runChorusAsync(["help", "--config", CONFIG]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Plugin commands:\n {2}greet NAME/);
    const unknown = await runChorusAsync(["grete", "--config", CONFIG]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^chorus: unknown command 'grete'; commands: serve, .*; from plugins: greet, .*\n\(see chorus help\)\n$/);
  });

  it("are checked by chorus plugin check (module found, defineCommand exported)", async () => {
    const check = await runChorusAsync(["plugin", "check", path.join(ROOT, "greeter")]);
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/ok {3}synthesis/);
    expect(check.stdout).toMatch(/ok {3}command 'greet' \(greet\.ts\)/);
    expect(check.stdout).toMatch(/FAIL command 'lost' \(missing\.ts\): plugin greeter, command 'lost': module 'missing\.ts' not found/);
    expect(check.stdout).toMatch(/greeter: 1 problem\(s\)/);
  });
});
