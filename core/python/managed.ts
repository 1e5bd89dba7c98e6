/**
 * Managed environments for tools (the fine-tune transcriber): "a Python executable for
 * environment X", built in `python.envsDir` like a plugin's, with progress, and checked by
 * importing the modules the tool needs. It has the shape of core/finetune's
 * `PythonEnvironments`, so `new ManagedPython(config)` can replace `ExistingPython` there.
 */
import { spawnSync } from "node:child_process";
import { CHORUS_ROOT, resolvePath } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { envsRoot } from "./environment.ts";
import { ensureEnvironment } from "./setup.ts";

export interface ToolEnvironmentSpec {
  /** Environment name, e.g. `faster-whisper` (lowercase letters, digits, '-'). */
  name: string;
  requirements: string[];
  /** Modules that must import for the environment to count as ready. */
  imports: string[];
  /** Python versions (pip specifier); default `>=3.9`. */
  pythonVersion?: string;
}

export class ManagedPython {
  constructor(private readonly config: Pick<Config, "dataDir" | "python">) {}

  async pythonFor(spec: ToolEnvironmentSpec, options: { onProgress?: (message: string) => void; signal?: AbortSignal } = {}): Promise<string> {
    const python = await ensureEnvironment(
      { id: spec.name, baseDir: CHORUS_ROOT, python: { version: spec.pythonVersion ?? ">=3.9", requirements: spec.requirements } },
      {
        root: envsRoot(this.config, resolvePath),
        python: this.config.python.executable,
        installer: this.config.python.installer,
        torchIndexUrl: this.config.python.torchIndexUrl,
      },
      (line) => options.onProgress?.(line),
    );
    if (spec.imports.length) {
      const probe = spawnSync(python, ["-c", spec.imports.map((m) => `import ${m}`).join("; ")], { encoding: "utf8", timeout: 120_000 });
      if (probe.status !== 0)
        throw new Error(`environment ${spec.name} (${python}) cannot import ${spec.imports.join(", ")}: ${probe.stderr.trim().split("\n").pop() ?? ""}`);
    }
    return python;
  }
}
