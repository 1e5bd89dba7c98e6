/**
 * Finding Python interpreters: an explicit one (--python, config python.executable) or the
 * python3.x programs on PATH, each asked for its version.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { compareVersions, parseVersion, satisfies } from "./specifier.ts";

export interface Interpreter {
  /** As given or found on PATH. */
  command: string;
  /** sys.executable: the resolved program. */
  executable: string;
  /** e.g. "3.11.7". */
  version: string;
}

const CANDIDATES = ["python3.14", "python3.13", "python3.12", "python3.11", "python3.10", "python3.9", "python3", "python"];
const PROBE = "import sys, json; print(json.dumps({'version': '%d.%d.%d' % sys.version_info[:3], 'executable': sys.executable}))";

/** Asks one interpreter for its version; undefined when it does not run. */
export function probeInterpreter(command: string): Interpreter | undefined {
  const result = spawnSync(command, ["-c", PROBE], { encoding: "utf8", timeout: 15_000 });
  if (result.status !== 0 || !result.stdout) return undefined;
  try {
    const info = JSON.parse(result.stdout.trim().split("\n").pop()!) as { version: string; executable: string };
    return { command, executable: info.executable || command, version: info.version };
  } catch {
    return undefined;
  }
}

/** Every distinct interpreter on PATH, newest first. */
export function findInterpreters(): Interpreter[] {
  const seen = new Map<string, Interpreter>();
  for (const command of CANDIDATES) {
    const found = probeInterpreter(command);
    if (!found) continue;
    let real = found.executable;
    try {
      real = fs.realpathSync(found.executable);
    } catch {
      // keep the reported path
    }
    if (!seen.has(real)) seen.set(real, found);
  }
  return [...seen.values()].sort((a, b) => compareVersions(parseVersion(b.version), parseVersion(a.version)));
}

export class InterpreterError extends Error {}

/**
 * The interpreter to build an environment with: `explicit` when given (it must run and fit
 * `spec`), else the newest on PATH that fits.
 */
export function chooseInterpreter(spec: string, explicit?: string): Interpreter {
  if (explicit) {
    const found = probeInterpreter(explicit);
    if (!found) throw new InterpreterError(`Python '${explicit}' does not run (is the path right?)`);
    if (!satisfies(found.version, spec)) throw new InterpreterError(`Python ${found.version} at ${found.executable} does not satisfy the plugin's '${spec}'`);
    return found;
  }
  const all = findInterpreters();
  const fit = all.find((i) => satisfies(i.version, spec));
  if (fit) return fit;
  const seen = all.length ? `found ${all.map((i) => `${i.version} (${i.command})`).join(", ")}` : "no python3 on PATH";
  throw new InterpreterError(`no Python satisfying '${spec}': ${seen}; install one (e.g. apt-get install python3.11-venv) or pass --python PATH`);
}

/** The first program of `names` found on PATH, if any (uv, nvidia-smi). */
export function which(name: string, args: string[] = ["--version"]): string | undefined {
  const result = spawnSync(name, args, { encoding: "utf8", timeout: 10_000 });
  return result.status === 0 ? name : undefined;
}
