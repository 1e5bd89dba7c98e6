/**
 * `chorus doctor`: Python interpreters, each Python plugin's environment, torch and its CUDA
 * build, torch.cuda.is_available(), the GPUs torch sees next to nvidia-smi's, DeepSpeed and
 * each engine's own checks (model files), each problem with its fix. Exit 1 when any fails.
 */
import { spawnSync } from "node:child_process";
import { resolvePath } from "../config/load.ts";
import { envsRoot, envStatus, findInterpreters, pluginEnvSpec, PYTHON_SDK_DIR, setupCommand } from "../python/index.ts";
import { which } from "../python/interpreters.ts";
import { pluginFolders, readPluginFolder } from "../registry/plugin-folder.ts";
import type { Manifest } from "../registry/manifest-schema.ts";
import { cliConfig, type CliValues } from "./options.ts";

type Finding = { level: "ok" | "warn" | "FAIL"; what: string; detail?: string; fix?: string };

interface EnvReport {
  python: string;
  torch: { version?: string; cuda?: string | null; available?: boolean; devices?: string[]; error?: string } | null;
  deepspeed: { version?: string; error?: string } | null;
  checks: { ok: boolean; what: string; detail?: string; fix?: string }[];
}

function nvidiaGpus(smi: string): string[] | undefined {
  const result = spawnSync(smi, ["--query-gpu=name,memory.total", "--format=csv,noheader"], { encoding: "utf8", timeout: 10_000 });
  if (result.status !== 0) return undefined;
  return result.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

function probeEnv(python: string, manifest: Manifest, dir: string, settings: Record<string, unknown>, dataDir: string): EnvReport | string {
  const args = [
    "-m",
    "chorus_sdk.doctor",
    "--entry",
    `${dir}/${manifest.entry}`,
    "--plugin-dir",
    dir,
    "--settings",
    JSON.stringify(settings),
    "--data-dir",
    dataDir,
  ];
  const result = spawnSync(python, args, {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, PYTHONPATH: PYTHON_SDK_DIR, COQUI_TOS_AGREED: process.env.COQUI_TOS_AGREED ?? "" },
  });
  const line = result.stdout?.trim().split("\n").pop();
  try {
    return JSON.parse(line ?? "") as EnvReport;
  } catch {
    return `the environment's Python failed (exit ${result.status}): ${(result.stderr ?? "").trim().split("\n").slice(-3).join(" | ")}`;
  }
}

function pluginFindings(
  manifest: Manifest,
  dir: string,
  root: string,
  dataDir: string,
  settings: Record<string, unknown>,
  gpus: string[] | undefined,
): Finding[] {
  const id = manifest.id;
  const status = envStatus(pluginEnvSpec(manifest, dir), root);
  if (status.state !== "ready") {
    // Never set up is a choice (the engine is just not usable yet); stale or half-done is a problem.
    const level = status.state === "missing" && status.reason === "no environment yet" ? "warn" : "FAIL";
    return [
      {
        level,
        what: `${id}: environment`,
        detail: `${status.state === "missing" && level === "warn" ? "not set up" : status.state}: ${status.reason}`,
        fix: setupCommand(id),
      },
    ];
  }
  const out: Finding[] = [
    { level: "ok", what: `${id}: environment`, detail: `${status.dir} (Python ${status.record.python.version}, ${status.record.installed.length} packages)` },
  ];
  const report = probeEnv(status.python, manifest, dir, settings, dataDir);
  if (typeof report === "string") return [...out, { level: "FAIL", what: `${id}: environment runs`, detail: report, fix: `${setupCommand(id)} --force` }];
  const torch = report.torch;
  const wantsTorch = Boolean(manifest.python?.torch);
  if (!torch) {
    if (wantsTorch) out.push({ level: "FAIL", what: `${id}: torch`, detail: "not installed", fix: `${setupCommand(id)} --force` });
  } else if (torch.error && !torch.version) {
    out.push({ level: "FAIL", what: `${id}: torch`, detail: torch.error, fix: `${setupCommand(id)} --force` });
  } else {
    out.push({ level: "ok", what: `${id}: torch`, detail: `${torch.version} (${torch.cuda ? `CUDA ${torch.cuda} build` : "CPU build"})` });
    const seen = torch.devices ?? [];
    if (gpus?.length && !torch.cuda) {
      out.push({
        level: "warn",
        what: `${id}: torch.cuda.is_available()`,
        detail: `false: torch is a CPU build but nvidia-smi sees ${gpus.length} GPU(s)`,
        fix: `${setupCommand(id)} --torch cuda --force`,
      });
    } else if (torch.cuda && !torch.available) {
      out.push({
        level: "FAIL",
        what: `${id}: torch.cuda.is_available()`,
        detail: `false with a CUDA ${torch.cuda} build${gpus ? "" : " and no nvidia-smi"}${torch.error ? `: ${torch.error}` : ""}`,
        fix: gpus
          ? "the NVIDIA driver may be older than this CUDA build needs: update the driver, or set the plugin's torch.cuda to an older build (e.g. cu121) and run setup --force"
          : "install the NVIDIA driver (nvidia-smi must work), or use --torch cpu",
      });
    } else if (torch.cuda) {
      const level = gpus && seen.length !== gpus.length ? "warn" : "ok";
      out.push({
        level,
        what: `${id}: GPUs torch sees`,
        detail: `${seen.length} (${seen.join(", ")}); nvidia-smi: ${gpus?.length ?? 0}`,
        fix: level === "warn" ? "check CUDA_VISIBLE_DEVICES" : undefined,
      });
    } else {
      out.push({ level: "ok", what: `${id}: torch.cuda.is_available()`, detail: "false (CPU build; no NVIDIA GPU seen)" });
    }
  }
  if (report.deepspeed?.version) out.push({ level: "ok", what: `${id}: DeepSpeed`, detail: report.deepspeed.version });
  else if (report.deepspeed?.error)
    out.push({
      level: "warn",
      what: `${id}: DeepSpeed`,
      detail: `installed but does not import: ${report.deepspeed.error}`,
      fix: "DeepSpeed needs the CUDA toolkit (nvcc) matching torch's CUDA build; or uninstall it",
    });
  else if (manifest.resources.profiles.some((p) => p.name.includes("deepspeed")))
    out.push({ level: "ok", what: `${id}: DeepSpeed`, detail: "not installed (its profile is not offered)" });
  for (const check of report.checks) out.push({ level: check.ok ? "ok" : "FAIL", what: `${id}: ${check.what}`, detail: check.detail, fix: check.fix });
  return out;
}

export async function doctorCommand(values: CliValues): Promise<number> {
  const config = cliConfig(values);
  const dataDir = resolvePath(config.dataDir);
  const root = envsRoot(config, resolvePath);
  const findings: Finding[] = [];
  const interpreters = findInterpreters();
  findings.push(
    interpreters.length
      ? { level: "ok", what: "Python", detail: interpreters.map((i) => `${i.version} (${i.executable})`).join(", ") }
      : {
          level: "FAIL",
          what: "Python",
          detail: "no python3 on PATH",
          fix: "install Python 3.10-3.13 with venv (apt-get install python3 python3-venv), or set python.executable in the config",
        },
  );
  findings.push(
    which("uv")
      ? { level: "ok", what: "uv", detail: "found: environments are built with uv" }
      : { level: "ok", what: "uv", detail: "not found: environments are built with python -m venv + pip (pip install uv makes setup faster)" },
  );
  const gpus = nvidiaGpus(config.scheduler.devices.nvidiaSmi);
  findings.push(
    gpus
      ? { level: "ok", what: "nvidia-smi", detail: gpus.length ? gpus.join("; ") : "no GPUs listed" }
      : { level: "ok", what: "nvidia-smi", detail: "not found: no NVIDIA GPU (engines run on the CPU or simulated devices)" },
  );
  const seen = new Set<string>();
  for (const dir of config.engines.dirs.map(resolvePath).flatMap(pluginFolders)) {
    const entry = readPluginFolder(dir);
    if (entry.manifest?.runtime !== "python" || seen.has(entry.id)) continue;
    seen.add(entry.id);
    findings.push(...pluginFindings(entry.manifest, dir, root, dataDir, config.engines.settings[entry.id] ?? {}, gpus));
  }
  if (!seen.size) findings.push({ level: "ok", what: "Python plugins", detail: "none installed" });
  const json = values.json;
  if (json) process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
  else {
    for (const f of findings) process.stdout.write(`${f.level.padEnd(4)} ${f.what}${f.detail ? `: ${f.detail}` : ""}${f.fix ? `\n     fix: ${f.fix}` : ""}\n`);
  }
  const failed = findings.filter((f) => f.level === "FAIL").length;
  const warned = findings.filter((f) => f.level === "warn").length;
  if (!json) process.stdout.write(`${failed ? `${failed} problem(s) found` : "no problems found"}${warned ? `, ${warned} warning(s)` : ""}\n`);
  return failed ? 1 : 0;
}
