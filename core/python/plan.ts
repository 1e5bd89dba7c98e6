/**
 * The plan `chorus plugin setup` carries out (and `--dry-run` prints): which interpreter,
 * which installer, which torch build from which index, the exact commands in order.
 */
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { envDir, envStatus, readRecord, requirementLines, requirementsFile, requirementsHash, venvPython, type EnvSpec } from "./environment.ts";
import { chooseInterpreter, which, type Interpreter } from "./interpreters.ts";

import type { TorchChoice } from "./torch-choice.ts";

export interface SetupOptions {
  /** The environments folder (envsRoot). */
  root: string;
  /** --python PATH (else config python.executable, else the newest fitting python3.x). */
  python?: string;
  /** --torch (else the manifest's torch.build). */
  torch?: TorchChoice;
  installer: "auto" | "uv" | "pip";
  torchIndexUrl: string;
  /** Re-create the environment even when it is up to date. */
  force?: boolean;
  /** For tests: whether an NVIDIA GPU is present (default: asks nvidia-smi). */
  gpuPresent?: () => boolean;
}

export interface PlanStep {
  what: string;
  /** The command run; absent for the folder removal. */
  argv?: string[];
  remove?: string;
}

export interface SetupPlan {
  id: string;
  dir: string;
  python: string;
  interpreter: Interpreter;
  installer: "uv" | "pip";
  torch: { build: string; indexUrl: string; packages: string[]; why: string } | null;
  requirements: string[];
  hash: string;
  /** `none`: up to date, nothing to run. */
  action: "create" | "recreate" | "update" | "none";
  reason: string;
  steps: PlanStep[];
  /** No requirements and no torch: a venv without pip. */
  bare: boolean;
}

export function nvidiaGpuPresent(): boolean {
  const result = spawnSync("nvidia-smi", ["-L"], { encoding: "utf8", timeout: 10_000 });
  return result.status === 0 && /GPU \d+:/.test(result.stdout);
}

function torchPlan(spec: EnvSpec, options: SetupOptions): SetupPlan["torch"] {
  const torch = spec.python.torch;
  if (!torch) return null;
  const wanted = options.torch ?? torch.build;
  let build: string;
  let why: string;
  if (wanted === "auto") {
    const gpu = (options.gpuPresent ?? nvidiaGpuPresent)();
    build = gpu ? torch.cuda : "cpu";
    why = gpu ? "auto: nvidia-smi lists a GPU" : "auto: no NVIDIA GPU found (nvidia-smi)";
  } else {
    build = wanted === "cpu" ? "cpu" : torch.cuda;
    why = options.torch ? `--torch ${options.torch}` : `the plugin asks for ${torch.build}`;
  }
  const indexUrl = options.torchIndexUrl ? `${options.torchIndexUrl.replace(/\/+$/, "")}/${build}` : "";
  return { build, indexUrl, packages: torch.packages.map((p) => `${p}${torch.version.replace(/\s+/g, "")}`), why };
}

export function makePlan(spec: EnvSpec, options: SetupOptions): SetupPlan {
  const dir = envDir(options.root, spec.id);
  const interpreter = chooseInterpreter(spec.python.version, options.python);
  const installer = options.installer === "auto" ? (which("uv") ? "uv" : "pip") : options.installer;
  const torch = torchPlan(spec, options);
  const requirements = requirementLines(spec);
  const hash = requirementsHash(spec);
  const status = envStatus(spec, options.root);
  const record = readRecord(dir);
  const python = venvPython(dir);
  let action: SetupPlan["action"];
  let reason: string;
  if (status.state === "missing" && !record) {
    action = status.reason === "no environment yet" ? "create" : "recreate";
    reason = status.reason;
  } else if (options.force) {
    action = "recreate";
    reason = "--force";
  } else if (
    record &&
    installer === "pip" &&
    !(!torch && requirements.length === 0) &&
    !fs.existsSync(path.join(dir, process.platform === "win32" ? "Scripts" : "bin", process.platform === "win32" ? "pip.exe" : "pip"))
  ) {
    action = "recreate";
    reason = "the environment was made without pip and now has requirements";
  } else if (record && record.python.version !== interpreter.version) {
    action = "recreate";
    reason = `Python changes from ${record.python.version} to ${interpreter.version}`;
  } else if (record && (record.torch?.build ?? null) !== (torch?.build ?? null)) {
    action = "update";
    reason = `torch build changes from ${record.torch?.build ?? "none"} to ${torch?.build ?? "none"}`;
  } else if (status.state === "ready") {
    action = "none";
    reason = "up to date";
  } else {
    action = "update";
    reason = status.reason;
  }
  const steps: PlanStep[] = [];
  if (action === "recreate") steps.push({ what: `remove the old environment ${dir}`, remove: dir });
  // Nothing to install: no pip in the environment either (created in a fraction of a second).
  const bare = !torch && requirements.length === 0;
  if (action === "create" || action === "recreate") {
    steps.push({
      what: `create a virtual environment with Python ${interpreter.version}${bare ? " (standard library only)" : ""}`,
      argv:
        installer === "uv"
          ? ["uv", "venv", "--python", interpreter.executable, dir]
          : [interpreter.executable, "-m", "venv", ...(bare ? ["--without-pip"] : []), dir],
    });
  }
  if (action !== "none") {
    const pip = installer === "uv" ? ["uv", "pip", "install", "--python", python] : [python, "-m", "pip", "install", "--progress-bar", "off"];
    if (torch) {
      steps.push({
        what: `install torch (${torch.build} build; ${torch.why})`,
        argv: [...pip, ...torch.packages, ...(torch.indexUrl ? ["--index-url", torch.indexUrl] : [])],
      });
    }
    // A requirements file of comments only (the Python template's) installs nothing: no pip step.
    const file = requirementsFile(spec);
    if (file && requirements.length) steps.push({ what: `install the requirements of ${path.basename(file)}`, argv: [...pip, "-r", file] });
    else if (requirements.length) steps.push({ what: `install ${requirements.length} requirement(s)`, argv: [...pip, ...requirements] });
  }
  return { id: spec.id, dir, python, interpreter, installer, torch, requirements, hash, action, reason, steps, bare };
}

const quote = (arg: string) => (/^[\w@%+=:,./<>-]+$/.test(arg) && !/[<>]/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`);

/** The plan as `--dry-run` prints it. */
/** A URL without the user and password it may carry (an index token), for printing and probing. */
export const withoutCredentials = (url: string) => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/i, "$1");

/** The plan in words (`--dry-run`); index URLs without their credentials. */
export function formatPlan(plan: SetupPlan): string {
  const lines = [
    `environment ${plan.id}: ${plan.dir}`,
    `  python:       ${plan.interpreter.version} (${plan.interpreter.executable})`,
    `  installer:    ${plan.installer === "uv" ? "uv" : "python -m venv + pip"}`,
    `  torch:        ${plan.torch ? `${plan.torch.packages.join(" ")}, ${plan.torch.build} build (${plan.torch.why})${plan.torch.indexUrl ? ` from ${withoutCredentials(plan.torch.indexUrl)}` : ""}` : "not needed"}`,
    `  requirements: ${plan.requirements.length ? plan.requirements.join(", ") : "none"}`,
    `  state:        ${plan.action === "none" ? "up to date, nothing to do" : `${plan.action} (${plan.reason})`}`,
  ];
  if (plan.steps.length) {
    lines.push("steps:");
    plan.steps.forEach((s, i) => {
      lines.push(`  ${i + 1}. ${s.what}`);
      lines.push(`     ${s.argv ? s.argv.map((a) => quote(withoutCredentials(a))).join(" ") : `rm -rf ${quote(s.remove!)}`}`);
    });
    lines.push(`  ${plan.steps.length + 1}. record what was installed in ${path.join(plan.dir, "chorus-env.json")}`);
  }
  return `${lines.join("\n")}\n`;
}
