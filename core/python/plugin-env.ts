/**
 * Environments as the rest of Chorus uses them: a Python plugin's environment spec and
 * status (GET /api/engines shows `needs setup`), how to launch its engine process, and
 * `pythonFor` for tools that need "the Python executable of environment X".
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PythonSchema, type Manifest } from "../registry/manifest-schema.ts";
import { envStatus, type EnvSpec, type EnvStatus } from "./environment.ts";

/** The folder holding the `chorus_sdk` package, put on the engine's PYTHONPATH. */
export const PYTHON_SDK_DIR = fileURLToPath(new URL("../../packages/sdk-python", import.meta.url));

export function isPythonPlugin(manifest: Manifest | undefined): manifest is Manifest {
  return manifest?.runtime === "python";
}

export function pluginEnvSpec(manifest: Manifest, pluginDir: string): EnvSpec {
  return { id: manifest.id, python: manifest.python ?? PythonSchema.parse({}), baseDir: pluginDir };
}

export function setupCommand(id: string): string {
  return `chorus plugin setup ${id}`;
}

/** What GET /api/engines and `chorus engines` show for an engine that cannot run yet. */
export interface NeedsSetup {
  state: "missing" | "stale";
  reason: string;
  command: string;
}

/** Undefined for Node plugins and for Python plugins whose environment is ready. */
export function needsSetup(manifest: Manifest | undefined, pluginDir: string, root: string): NeedsSetup | undefined {
  if (!isPythonPlugin(manifest)) return undefined;
  const status = envStatus(pluginEnvSpec(manifest, pluginDir), root);
  return status.state === "ready" ? undefined : { state: status.state, reason: status.reason, command: setupCommand(manifest.id) };
}

export class NeedsSetupError extends Error {
  constructor(
    readonly id: string,
    readonly status: Exclude<EnvStatus, { state: "ready" }>,
  ) {
    super(`engine '${id}' needs setup (${status.reason}); run: ${setupCommand(id)}`);
    this.name = "NeedsSetupError";
  }
}

/**
 * The Python executable of environment `spec.id`, ready for use; throws NeedsSetupError
 * (with the reason) when it is missing or stale. Tools with an environment of their own (the
 * fine-tune transcriber) build it with makePlan/runSetup and run their scripts with this.
 */
export function pythonFor(spec: EnvSpec, root: string): string {
  const status = envStatus(spec, root);
  if (status.state !== "ready") throw new NeedsSetupError(spec.id, status);
  return status.python;
}

/** A child process to start (the shape of core/registry's ProcessCommand). */
export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** How to start a Python plugin's engine process (protocol on fd 3, see docs/protocol.md). */
export function pythonLaunch(manifest: Manifest, codeDir: string, root: string, envDir = codeDir): Launch {
  const python = pythonFor(pluginEnvSpec(manifest, envDir), root);
  const inherited = process.env.PYTHONPATH ? `${path.delimiter}${process.env.PYTHONPATH}` : "";
  return {
    command: python,
    args: ["-m", "chorus_sdk", "--entry", path.resolve(codeDir, manifest.entry), "--plugin-dir", codeDir, "--manifest", JSON.stringify(manifest)],
    // The host's working directory stays the engine's: relative paths in settings mean the same.
    env: { PYTHONPATH: `${PYTHON_SDK_DIR}${inherited}`, CHORUS_PROTOCOL_FD: "3", PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
  };
}

/** The process to run an engine in when it is not Node's runtime (undefined for Node plugins). */
export function engineCommand(manifest: Manifest, codeDir: string, root: string): Launch | undefined {
  return isPythonPlugin(manifest) ? pythonLaunch(manifest, codeDir, root) : undefined;
}
