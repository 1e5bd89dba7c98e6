/**
 * One Python environment (a virtual environment) and the record of what was installed in it.
 * Environments live in the data folder, `<dataDir>/python/<id>/` (config `python.envsDir`),
 * never in a plugin folder; `<id>/chorus-env.json` records the requirements' hash, the Python version, the torch build
 * and `pip freeze`. An environment is `ready` when the record matches what the spec asks for
 * now, `missing` or `stale` (with the reason) otherwise.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { PythonSpec } from "../registry/manifest-schema.ts";
import { satisfies } from "./specifier.ts";

/** What an environment must contain. Plugins get theirs from the manifest (plugin-env.ts). */
export interface EnvSpec {
  /** Environment name: a plugin id, or a tool's (e.g. `finetune-whisper`). */
  id: string;
  python: PythonSpec;
  /** Folder a requirements file is read from (the plugin folder). */
  baseDir: string;
}

export interface EnvRecord {
  id: string;
  requirementsHash: string;
  python: { version: string; executable: string };
  /** The torch build installed (`cpu`, `cu128`, ...) and where from; null without torch. */
  torch: { build: string; indexUrl: string; packages: string[] } | null;
  requirements: string[];
  installer: "uv" | "pip";
  /** `pip freeze` after setup. */
  installed: string[];
  /** Python modules the plugin's profiles require (`requires`), and whether each imported when setup last ran. */
  modules?: Record<string, boolean>;
  createdAt: string;
  updatedAt: string;
}

export type EnvStatus = { state: "ready"; dir: string; python: string; record: EnvRecord } | { state: "missing" | "stale"; dir: string; reason: string };

export const RECORD_FILE = "chorus-env.json";

/** The folder holding all environments: `python.envsDir`, default `<dataDir>/python`. */
export function envsRoot(config: { dataDir: string; python: { envsDir?: string } }, resolve: (p: string) => string): string {
  return config.python.envsDir ? resolve(config.python.envsDir) : path.join(resolve(config.dataDir), "python");
}

export function envDir(root: string, id: string): string {
  if (!/^[a-z][a-z0-9-]{0,63}$/.test(id)) throw new Error(`bad environment name '${id}'`);
  return path.join(root, id);
}

/** The environment's own interpreter. */
export function venvPython(dir: string): string {
  return process.platform === "win32" ? path.join(dir, "Scripts", "python.exe") : path.join(dir, "bin", "python");
}

/** The requirement lines, from the list or the requirements file (comments and blanks dropped). */
export function requirementLines(spec: EnvSpec): string[] {
  const req = spec.python.requirements;
  if (Array.isArray(req)) return req.map((l) => l.trim()).filter(Boolean);
  return readRequirementsFile(spec).lines;
}

export function requirementsFile(spec: EnvSpec): string | undefined {
  const req = spec.python.requirements;
  if (Array.isArray(req)) return undefined;
  const file = path.resolve(spec.baseDir, req);
  if (!file.startsWith(path.resolve(spec.baseDir) + path.sep)) throw new Error(`python.requirements '${req}' is outside the plugin folder`);
  return file;
}

function readRequirementsFile(spec: EnvSpec): { file: string; lines: string[] } {
  const file = requirementsFile(spec)!;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`python.requirements: cannot read ${file}: ${(err as Error).message}`);
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean);
  return { file, lines };
}

/** Hash of everything the spec asks to install (not of the interpreter chosen). */
export function requirementsHash(spec: EnvSpec): string {
  const body = JSON.stringify({ requirements: requirementLines(spec), torch: spec.python.torch ?? null, python: spec.python.version });
  return crypto.createHash("sha256").update(body).digest("hex").slice(0, 16);
}

export function readRecord(dir: string): EnvRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, RECORD_FILE), "utf8")) as EnvRecord;
  } catch {
    return undefined;
  }
}

export function writeRecord(dir: string, record: EnvRecord): void {
  const file = path.join(dir, RECORD_FILE);
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** Cheap (no process spawned): fit for GET /api/engines. */
export function envStatus(spec: EnvSpec, root: string): EnvStatus {
  const dir = envDir(root, spec.id);
  const python = venvPython(dir);
  if (!fs.existsSync(python)) return { state: "missing", dir, reason: "no environment yet" };
  const record = readRecord(dir);
  if (!record) return { state: "missing", dir, reason: "environment setup did not finish" };
  let hash: string;
  try {
    hash = requirementsHash(spec);
  } catch (err) {
    return { state: "stale", dir, reason: (err as Error).message };
  }
  if (record.requirementsHash !== hash) return { state: "stale", dir, reason: "the plugin's requirements changed since setup" };
  if (!satisfies(record.python.version, spec.python.version))
    return { state: "stale", dir, reason: `Python ${record.python.version} no longer satisfies '${spec.python.version}'` };
  const torch = spec.python.torch;
  if (torch && torch.build !== "auto" && record.torch && (torch.build === "cpu") !== (record.torch.build === "cpu")) {
    return { state: "stale", dir, reason: `the plugin wants a ${torch.build} torch build; ${record.torch.build} is installed` };
  }
  return { state: "ready", dir, python, record };
}
