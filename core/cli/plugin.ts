/**
 * Plugin author commands: `chorus use ID` (set the default engine, persisted),
 * `chorus plugin new NAME [DIR]` (scaffold from examples/plugin-template) and
 * `chorus plugin check DIR` (validate a plugin in a real engine worker and say what is wrong).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { CHORUS_ROOT, resolvePath } from "../config/load.ts";
import { EngineHost } from "../registry/engine-host.ts";
import { readPluginFolder } from "../registry/plugin-folder.ts";
import { validateSettings } from "../registry/settings.ts";
import { loadPluginCommand } from "./plugin-commands.ts";
import { Registry } from "../registry/registry.ts";
import { validateOptions, type AudioChunk, type Voice } from "../../packages/sdk/src/index.ts";
import type { Manifest } from "../../packages/sdk/src/index.ts";
import { cliConfig, ensureDataDir, type CliValues } from "./options.ts";
import { UsageError } from "./usage.ts";
import { pluginSetupCommand } from "./python-setup.ts";
import { engineCommand, envsRoot, NeedsSetupError } from "../python/index.ts";

const TEMPLATE_DIR = path.join(CHORUS_ROOT, "examples", "plugin-template");
const TEMPLATE_ID = "plugin-template";
const PYTHON_TEMPLATE_DIR = path.join(CHORUS_ROOT, "examples", "plugin-template-python");
const PYTHON_TEMPLATE_ID = "plugin-template-python";
const ID_PATTERN = /^[a-z][a-z0-9-]{0,47}$/;

export async function useCommand(args: string[], values: CliValues): Promise<number> {
  const [id] = args;
  if (!id) throw new UsageError("use needs an engine id: chorus use espeak (chorus engines lists them)", "use");
  const config = cliConfig(values);
  ensureDataDir(config);
  const registry = Registry.create(config, pino({ level: "silent" }));
  registry.scan();
  const { previous } = registry.selection.set(id);
  process.stdout.write(`default engine: ${id} (was ${previous}); saved in ${registry.selection.file}\n`);
  return 0;
}

export async function pluginCommand(args: string[], values: CliValues): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "new") return newPlugin(rest, values.runtime);
  if (sub === "check") return checkPlugin(rest, values);
  if (sub === "setup") return pluginSetupCommand(rest, values);
  throw new UsageError(`plugin needs a subcommand: new NAME [DIR] [--python] | check DIR | setup ID${sub ? ` (got '${sub}')` : ""}`, "plugin");
}

function newPlugin(args: string[], runtime = "node"): number {
  const [name, dir] = args;
  if (runtime !== "node" && runtime !== "python") throw new UsageError(`plugin new: --runtime must be node or python (got '${runtime}')`);
  const python = runtime === "python";
  const [templateDir, templateId] = python ? [PYTHON_TEMPLATE_DIR, PYTHON_TEMPLATE_ID] : [TEMPLATE_DIR, TEMPLATE_ID];
  if (!name || !ID_PATTERN.test(name)) {
    throw new UsageError(`plugin new needs a NAME of lowercase letters, digits and '-', starting with a letter${name ? ` (got '${name}')` : ""}`, "plugin");
  }
  const target = path.resolve(dir ?? path.join(resolvePath("plugins"), name));
  if (fs.existsSync(target)) {
    process.stderr.write(`chorus: ${target} already exists; not overwriting it\n`);
    return 1;
  }
  fs.cpSync(templateDir, target, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) && !src.includes("__pycache__") });
  const title = name
    .split("-")
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(" ");
  const manifestFile = path.join(target, "plugin.json");
  const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as Record<string, unknown>;
  manifest.id = name;
  manifest.name = title;
  manifest.version = "0.1.0";
  // Outside the Chorus folder `chorus/sdk` resolves only inside the host: such a plugin imports
  // the SDK package by its name (the same SDK in the host) so that its own tsc and tests find it.
  const relative = path.relative(CHORUS_ROOT, target);
  const outside = !python && (relative.startsWith("..") || path.isAbsolute(relative));
  manifest.$schema = outside
    ? "./node_modules/@chorus-tts/sdk/plugin.schema.json"
    : path
        .relative(target, path.join(CHORUS_ROOT, "packages", "sdk", "plugin.schema.json"))
        .split(path.sep)
        .join("/");
  fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  if (outside) {
    for (const file of ["index.ts", "index.test.ts"]) {
      const p = path.join(target, file);
      fs.writeFileSync(p, fs.readFileSync(p, "utf8").replaceAll("chorus/sdk", "@chorus-tts/sdk"));
    }
  }
  for (const file of ["README.md", "index.test.ts"]) {
    const p = path.join(target, file);
    if (fs.existsSync(p))
      fs.writeFileSync(
        p,
        fs
          .readFileSync(p, "utf8")
          .replaceAll(templateId, name)
          .replace(/^# Chorus (Python )?plugin template/, `# ${title}`),
      );
  }
  const near = path.relative(process.cwd(), target);
  const where = !near ? "." : near.startsWith("..") ? target : near;
  process.stdout.write(
    python
      ? `created ${target}\nnext: edit engine.py and requirements.txt, then run: chorus plugin setup ${name} && chorus plugin check ${where}\n`
      : `created ${target}\nnext: edit index.ts, then run: chorus plugin check ${where}\n`,
  );
  if (outside)
    process.stdout.write(
      `it imports @chorus-tts/sdk; for its own type check and tests: (cd ${where} && npm init -y && npm pkg set type=module && npm install ${path.join(CHORUS_ROOT, "packages", "sdk")} && npm install -D typescript @types/node vitest) (docs/plugins.md, "A plugin outside the Chorus repository")\n`,
    );
  return 0;
}

type Step = { ok: boolean; what: string; detail?: string };

async function checkPlugin(args: string[], values: CliValues): Promise<number> {
  const [dirArg] = args;
  if (!dirArg) throw new UsageError("plugin check needs the plugin folder: chorus plugin check plugins/my-engine", "plugin");
  const dir = path.resolve(dirArg);
  const steps: Step[] = [];
  const report = (step: Step) => {
    steps.push(step);
    process.stdout.write(`${step.ok ? "ok  " : "FAIL"} ${step.what}${step.detail ? `: ${step.detail}` : ""}\n`);
  };
  const entry = readPluginFolder(dir);
  if (entry.status === "failed") {
    report({ ok: false, what: "manifest", detail: entry.error });
    return 1;
  }
  const manifest = entry.manifest;
  report({ ok: true, what: "manifest", detail: `${manifest.id} ${manifest.version} (${manifest.isolation} isolation)` });
  const config = cliConfig(values);
  let command;
  try {
    command = engineCommand(manifest, dir, envsRoot(config, resolvePath));
    if (command) report({ ok: true, what: "python environment", detail: command.command });
  } catch (err) {
    if (!(err instanceof NeedsSetupError)) throw err;
    report({ ok: false, what: "python environment", detail: err.message });
    process.stdout.write(`${manifest.id}: 1 problem(s)\n`);
    return 1;
  }
  const host = new EngineHost({
    manifest,
    pluginDir: dir,
    log: pino({ level: values.json ? "silent" : "warn" }, pino.destination(2)).child({ plugin: manifest.id }),
    bootTimeoutMs: config.engines.startTimeoutSeconds * 1000,
    restart: { maxRestarts: 0 },
    processCommand: command,
  });
  // A scratch data folder, removed afterwards; the engine's settings from the configuration.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `chorus-check-${manifest.id}-`));
  const checked = validateSettings(manifest, config.engines.settings[manifest.id]);
  report(
    checked.ok
      ? { ok: true, what: "settings", detail: manifest.settings ? "valid against the manifest's settings schema" : "no settings schema" }
      : { ok: false, what: "settings", detail: checked.error },
  );
  if (!checked.ok) return 1;
  const settings = checked.settings;
  try {
    await step(report, "import and create", () => host.start());
    const profile = manifest.resources.profiles.find((p) => p.device === "cpu") ?? manifest.resources.profiles[0]!;
    await step(report, `load (profile ${profile.name})`, () =>
      host.load({ profile, device: { kind: profile.device, index: 0, simulated: profile.device !== "cpu" }, pluginDir: dir, settings, dataDir }),
    );
    const voices = await step(
      report,
      "voices",
      () => host.listVoices(),
      (v) => checkVoices(manifest, v),
    );
    const voice = manifest.defaultVoice ?? voices[0]!.id;
    const chunks = await step(
      report,
      `synthesis (voice ${voice})`,
      () => collect(host, manifest, voice),
      (c) => checkAudio(manifest, c),
    );
    const seconds = chunks.reduce((n, c) => n + c.samples.length / c.sampleRate, 0);
    report({ ok: true, what: "audio", detail: `${chunks.length} chunk(s), ${seconds.toFixed(2)} s at ${chunks[0]!.sampleRate} Hz` });
    await step(report, "unload", () => host.unload());
  } catch {
    // the failed step has been reported
  } finally {
    await host.terminate();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  for (const spec of manifest.commands) {
    await step(report, `command '${spec.name}' (${spec.module})`, () => loadPluginCommand({ spec, pluginId: manifest.id, pluginDir: dir, manifest })).catch(
      () => undefined,
    );
  }
  const failed = steps.filter((s) => !s.ok).length;
  process.stdout.write(failed ? `${manifest.id}: ${failed} problem(s)\n` : `${manifest.id}: all checks passed\n`);
  return failed ? 1 : 0;
}

/** Runs one check, reporting it; a thrown error or a returned problem fails it. */
async function step<T>(report: (s: Step) => void, what: string, run: () => Promise<T>, check?: (value: T) => string | undefined): Promise<T> {
  let value: T;
  try {
    value = await run();
  } catch (err) {
    report({ ok: false, what, detail: (err as Error).message });
    throw err;
  }
  const problem = check?.(value);
  report({ ok: !problem, what, detail: problem });
  if (problem) throw new Error(problem);
  return value;
}

function checkVoices(manifest: Manifest, voices: Voice[]): string | undefined {
  if (!Array.isArray(voices) || voices.length === 0) return "listVoices() returned no voices";
  const bad = voices.find((v) => typeof v?.id !== "string" || !v.id || typeof v.name !== "string" || !Array.isArray(v.languages));
  if (bad) return `voice ${JSON.stringify(bad)} lacks id, name or languages`;
  if (manifest.defaultVoice && !voices.some((v) => v.id === manifest.defaultVoice)) return `defaultVoice '${manifest.defaultVoice}' is not among the voices`;
  return undefined;
}

async function collect(host: EngineHost, manifest: Manifest, voice: string): Promise<AudioChunk[]> {
  const chunks: AudioChunk[] = [];
  // The options as a request gets them: the manifest's defaults applied.
  const request = { text: "Hello, this is a test of the plugin.", voice, speed: 1, pitch: 1, options: validateOptions(manifest, {}) };
  for await (const chunk of host.synthesize(request, new AbortController().signal)) chunks.push(chunk);
  return chunks;
}

function checkAudio(manifest: Manifest, chunks: AudioChunk[]): string | undefined {
  if (!chunks.length) return "synthesize() yielded no audio";
  const rates = new Set(chunks.map((c) => c.sampleRate));
  const rate = chunks[0]!.sampleRate;
  if (!Number.isInteger(rate) || rate < 4000 || rate > 192000) return `implausible sample rate ${rate}`;
  if (rates.size > 1) return `chunks change sample rate (${[...rates].join(", ")})`;
  const declared = manifest.capabilities.sampleRates;
  if (declared.length && !declared.includes(rate)) return `sample rate ${rate} is not among capabilities.sampleRates (${declared.join(", ")})`;
  const total = chunks.reduce((n, c) => n + c.samples.length, 0);
  if (total < rate * 0.2) return `only ${(total / rate).toFixed(2)} s of audio for an 8-word sentence`;
  if (!chunks.some((c) => c.samples.some((s) => Math.abs(s) > 300))) return "the audio is silent";
  return undefined;
}
