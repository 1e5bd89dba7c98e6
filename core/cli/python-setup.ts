/**
 * `chorus plugin setup ID [--python PATH] [--torch cpu|cuda|auto] [--dry-run] [--force]`:
 * builds (or updates) a Python plugin's environment in the data folder, with progress;
 * a second run with nothing changed does nothing.
 */
import { resolvePath } from "../config/load.ts";
import {
  formatPlan,
  makePlan,
  pluginEnvSpec,
  probeModules,
  readRecord,
  requiredModules,
  runSetup,
  TORCH_FLAG,
  writeRecord,
  type EnvRecord,
  type SetupPlan,
} from "../python/index.ts";
import type { Manifest } from "../../packages/sdk/src/index.ts";
import { pluginFolders, readPluginFolder } from "../registry/plugin-folder.ts";
import { cliConfig, type CliValues } from "./options.ts";
import { UsageError } from "./usage.ts";
import { setupOptions, torchFlag } from "./setup-options.ts";

export async function pluginSetupCommand(args: string[], values: CliValues): Promise<number> {
  const [id, extra] = args;
  if (!id || extra)
    throw new UsageError(
      `plugin setup needs one plugin id: chorus plugin setup ID [--python PATH] [${TORCH_FLAG}] [--dry-run]${extra ? ` (got '${args.join(" ")}')` : ""}`,
    );
  const torch = torchFlag(values.torch, (message) => new UsageError(message));
  const config = cliConfig(values);
  const entry = config.engines.dirs
    .map(resolvePath)
    .flatMap(pluginFolders)
    .map((dir) => readPluginFolder(dir))
    .find((e) => e.id === id);
  if (!entry) {
    process.stderr.write(`chorus: no plugin '${id}' in ${config.engines.dirs.join(", ")} (chorus engines lists them)\n`);
    return 1;
  }
  if (!entry.manifest) {
    process.stderr.write(`chorus: plugin '${id}' is broken: ${entry.status === "failed" ? entry.error : ""}\n`);
    return 1;
  }
  if (entry.manifest.runtime !== "python") {
    process.stdout.write(`${id} is a ${entry.manifest.runtime} plugin: nothing to set up\n`);
    return 0;
  }
  let plan: SetupPlan;
  try {
    plan = makePlan(pluginEnvSpec(entry.manifest, entry.dir), setupOptions(config, { ...values, torch }));
  } catch (err) {
    // No fitting Python (the versions found are named), an unreadable requirements file: the user's to fix, in one line.
    process.stderr.write(`chorus: cannot set up ${id}: ${(err as Error).message}\nnothing was changed; the plugin stays 'needs setup'\n`);
    return 1;
  }
  process.stdout.write(formatPlan(plan));
  for (const name of requiredModules(entry.manifest)) {
    const profiles = entry.manifest.resources.profiles
      .filter((p) => p.requires?.includes(name))
      .map((p) => p.name)
      .join(", ");
    process.stdout.write(`optional:     ${name} (not installed by setup; profile ${profiles} is offered only where it imports, checked after setup)\n`);
  }
  if (values["dry-run"]) {
    process.stdout.write("dry run: nothing was changed\n");
    return 0;
  }
  if (plan.action === "none") {
    const record = readRecord(plan.dir);
    if (record) await recordModules(entry.manifest, plan.dir, plan.python, record); // e.g. DeepSpeed installed since
    return 0;
  }
  try {
    const record = await runSetup(plan, (line) => process.stdout.write(`${line}\n`));
    await recordModules(entry.manifest, plan.dir, plan.python, record);
    process.stdout.write(`done: ${id} can run now (Python ${record.python.version}${record.torch ? `, torch ${record.torch.build}` : ""})\n`);
    return 0;
  } catch (err) {
    process.stderr.write(
      `chorus: setup of ${id} failed: ${(err as Error).message}\nthe plugin stays 'needs setup'; fix the cause and run chorus plugin setup ${id} again\n`,
    );
    return 1;
  }
}

/** Checks which optional modules the profiles require import now, and records it (the scheduler offers those profiles only then). */
async function recordModules(manifest: Manifest, dir: string, python: string, record: EnvRecord): Promise<void> {
  const names = requiredModules(manifest);
  if (!names.length) return;
  const modules = await probeModules(python, names);
  for (const name of names) {
    const profiles = manifest.resources.profiles
      .filter((p) => p.requires?.includes(name))
      .map((p) => p.name)
      .join(", ");
    process.stdout.write(
      `optional module ${name}: ${modules[name] ? "importable" : "not importable"} (profile ${profiles} ${modules[name] ? "offered" : "not offered"})\n`,
    );
  }
  if (JSON.stringify(record.modules) !== JSON.stringify(modules)) writeRecord(dir, { ...record, modules });
}
