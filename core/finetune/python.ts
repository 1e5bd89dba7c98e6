/**
 * "A Python executable for environment X": the one thing the fine-tuning tools need from
 * Chorus's Python environment management. The managed implementation (core/python, which
 * creates and updates venvs for the Python engine plugins) plugs in here; until it is wired,
 * `ExistingPython` uses an interpreter the user names (config `finetune.python`, `--python`)
 * and says exactly what to install when a package is missing.
 */
import { execFile } from "node:child_process";

export interface PythonEnvironmentSpec {
  /** Stable name, e.g. `faster-whisper`. */
  name: string;
  /** pip requirement strings the environment must satisfy. */
  requirements: string[];
  /** Modules that must import for the environment to count as ready. */
  imports: string[];
}

export interface PythonEnvironments {
  /** Path of a Python executable in which `spec` is satisfied (created or updated as needed). */
  pythonFor(spec: PythonEnvironmentSpec, options?: { onProgress?: (message: string) => void; signal?: AbortSignal }): Promise<string>;
}

export class PythonEnvironmentError extends Error {}

function run(file: string, args: string[], signal?: AbortSignal): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000, signal, windowsHide: true }, (err, _stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === "number" ? e.code : -1) : 0, stderr: String(stderr || e?.message || "") });
    });
  });
}

/** An interpreter the user installed; checks the imports, installs nothing. */
export class ExistingPython implements PythonEnvironments {
  constructor(private readonly executable: string) {}

  async pythonFor(spec: PythonEnvironmentSpec, options: { signal?: AbortSignal } = {}): Promise<string> {
    const probe = await run(this.executable, ["-c", spec.imports.map((m) => `import ${m}`).join("; ")], options.signal);
    if (probe.code !== 0) {
      const last = probe.stderr.trim().split("\n").pop() ?? "";
      throw new PythonEnvironmentError(
        `${this.executable} cannot import ${spec.imports.join(", ")} (${last}); install them with: ${this.executable} -m pip install ${spec.requirements.map((r) => `'${r}'`).join(" ")} (or set finetune.python / --python to an interpreter that has them)`,
      );
    }
    return this.executable;
  }
}
