/**
 * Carries out a setup plan: each command's output streamed line by line as progress, the
 * first failing command stops the setup with its last lines, and a successful setup writes
 * the environment's record (requirements hash, Python, torch build, pip freeze). A failed
 * setup leaves no record, so the plugin stays `needs setup`.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { RECORD_FILE, readRecord, writeRecord, type EnvRecord, type EnvSpec } from "./environment.ts";
import { makePlan, type SetupOptions, type SetupPlan } from "./plan.ts";

export class SetupError extends Error {
  constructor(
    message: string,
    readonly step: string,
    readonly output: string[],
  ) {
    super(message);
    this.name = "SetupError";
  }
}

export type Progress = (line: string) => void;

function run(argv: string[], progress: Progress): Promise<{ code: number | null; tail: string[] }> {
  return new Promise((resolve) => {
    const tail: string[] = [];
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PYTHONUNBUFFERED: "1" },
    });
    const onData = (buffer: { rest: string }) => (data: Buffer) => {
      buffer.rest += data.toString("utf8");
      const lines = buffer.rest.split(/\r?\n|\r/);
      buffer.rest = lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        progress(line);
      }
    };
    const out = { rest: "" };
    const err = { rest: "" };
    child.stdout.on("data", onData(out));
    child.stderr.on("data", onData(err));
    child.on("error", (e) => {
      tail.push(e.message);
      resolve({ code: -1, tail });
    });
    child.on("close", (code) => {
      for (const rest of [out.rest, err.rest]) if (rest.trim()) tail.push(rest);
      resolve({ code, tail });
    });
  });
}

function freeze(plan: SetupPlan): string[] {
  if (plan.bare) return [];
  const argv = plan.installer === "uv" ? ["uv", "pip", "freeze", "--python", plan.python] : [plan.python, "-m", "pip", "freeze", "--all"];
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 60_000 });
  return result.status === 0
    ? result.stdout
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean)
    : [];
}

/** Runs the plan; resolves with the environment's record (the existing one when up to date). */
export async function runSetup(plan: SetupPlan, progress: Progress): Promise<EnvRecord> {
  if (plan.action === "none") return readRecord(plan.dir)!;
  const previous = readRecord(plan.dir);
  fs.rmSync(`${plan.dir}/${RECORD_FILE}`, { force: true }); // unfinished setup = needs setup
  const total = plan.steps.length;
  for (const [i, step] of plan.steps.entries()) {
    progress(`[${i + 1}/${total}] ${step.what}`);
    if (step.remove) {
      fs.rmSync(step.remove, { recursive: true, force: true });
      continue;
    }
    const { code, tail } = await run(step.argv!, (line) => progress(`    ${line}`));
    if (code !== 0) {
      const why = tail.filter((l) => /error|not find|no matching|failed/i.test(l)).slice(-3);
      throw new SetupError(`step ${i + 1}/${total} failed (${step.what}, exit code ${code})${why.length ? `: ${why.join(" | ")}` : ""}`, step.what, tail);
    }
  }
  const now = new Date().toISOString();
  const record: EnvRecord = {
    id: plan.id,
    requirementsHash: plan.hash,
    python: { version: plan.interpreter.version, executable: plan.interpreter.executable },
    torch: plan.torch ? { build: plan.torch.build, indexUrl: plan.torch.indexUrl, packages: plan.torch.packages } : null,
    requirements: plan.requirements,
    installer: plan.installer,
    installed: freeze(plan),
    createdAt: plan.action === "update" && previous ? previous.createdAt : now,
    updatedAt: now,
  };
  writeRecord(plan.dir, record);
  progress(`environment ${plan.id} ready: ${record.installed.length} package(s) recorded in ${plan.dir}/${RECORD_FILE}`);
  return record;
}

/**
 * An environment ready for use, built (with progress) when missing or stale: for tools with
 * an environment of their own, e.g. the fine-tune transcriber (`{ id: "finetune-whisper",
 * python: { version: ">=3.10", requirements: ["faster-whisper>=1.0"] }, baseDir }`).
 * Resolves to the environment's Python executable.
 */
export async function ensureEnvironment(spec: EnvSpec, options: SetupOptions, progress: Progress): Promise<string> {
  const plan = makePlan(spec, options);
  if (plan.action !== "none") await runSetup(plan, progress);
  return plan.python;
}
