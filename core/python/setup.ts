/**
 * Carries out a setup plan: each command's output streamed line by line as progress, the
 * first failing command stops the setup with its last lines, and a successful setup writes
 * the environment's record (requirements hash, Python, torch build, pip freeze). A failed
 * setup leaves no record, so the plugin stays `needs setup`.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { RECORD_FILE, readRecord, writeRecord, type EnvRecord, type EnvSpec } from "./environment.ts";
import { makePlan, withoutCredentials, type SetupOptions, type SetupPlan } from "./plan.ts";
import { withSetupLock } from "./setup-lock.ts";

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

/** How long a step may print nothing before setup says it is still working (pip prints no progress for a download: torch's CUDA wheel and its NVIDIA libraries are gigabytes). */
export const QUIET_MS = 30_000;

function run(argv: string[], progress: Progress, quietMs: number): Promise<{ code: number | null; tail: string[] }> {
  return new Promise((resolve) => {
    const tail: string[] = [];
    const started = Date.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PYTHONUNBUFFERED: "1" },
    });
    let lastLine: string | undefined;
    const still = setInterval(() => {
      const seconds = Math.round((Date.now() - started) / 1000);
      progress(`(still working after ${seconds} s${lastLine ? `; last: ${lastLine.trim().slice(0, 120)}` : ""})`);
    }, quietMs);
    const onData = (buffer: { rest: string }) => (data: Buffer) => {
      still.refresh(); // output came: the quiet period starts again
      buffer.rest += data.toString("utf8");
      const lines = buffer.rest.split(/\r?\n|\r/);
      buffer.rest = lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        lastLine = line;
        progress(line);
      }
    };
    const out = { rest: "" };
    const err = { rest: "" };
    child.stdout.on("data", onData(out));
    child.stderr.on("data", onData(err));
    child.on("error", (e) => {
      clearInterval(still);
      tail.push(e.message);
      resolve({ code: -1, tail });
    });
    child.on("close", (code) => {
      clearInterval(still);
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

/** pip's and uv's words for a package index that cannot be reached (offline, DNS, proxy, firewall). */
const UNREACHABLE =
  /Connection refused|Temporary failure in name resolution|Name or service not known|nodename nor servname|Network is unreachable|No route to host|timed out|ProxyError|dns error|tcp connect error|failed to lookup address/i;

const mirrorHint = (index: string | undefined, why: string) =>
  `the package index${index ? ` ${index}` : ""} could not be reached (${why}): check the network or the proxy (HTTPS_PROXY), or point python.torchIndexUrl (torch) and PIP_INDEX_URL (the other packages) at a reachable mirror`;

/** `url` without the user and password in it (a token in --index-url or PIP_INDEX_URL; pip's own line masks only the password as ****): never printed, logged or fetched. */

/** The index a pip step used: its --index-url, else the one pip names, else PyPI's; without credentials. */
function indexOf(argv: string[], tail: string[]): string {
  const flag = argv.indexOf("--index-url");
  if (flag >= 0 && argv[flag + 1]) return withoutCredentials(argv[flag + 1]!);
  const named = tail.map((l) => /Looking in indexes: ([^\s,]+)/.exec(l)?.[1]).find(Boolean);
  return withoutCredentials(named ?? "https://pypi.org/simple");
}

/**
 * Why `index` cannot be fetched from here (a Node network error's code), or undefined when it
 * answers or when the failure says nothing about the network: fetch refusing the request itself
 * (a TypeError whose cause has no system error code, e.g. for a URL with credentials or a port
 * fetch blocks, or ERR_INVALID_URL) is unknown, not an unreachable index.
 */
async function unreachable(index: string): Promise<string | undefined> {
  if (!/^https?:/.test(index)) return undefined;
  try {
    const res = await fetch(index, { signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    return undefined;
  } catch (err) {
    if ((err as Error).name === "TimeoutError") return "timed out after 10 s";
    const code = (err as { cause?: { code?: unknown } }).cause?.code;
    return typeof code === "string" && !code.startsWith("ERR_") ? code : undefined;
  }
}

/**
 * Why a failed install failed, in a user's words. An unreachable package index says so, with
 * the index and how to use a mirror: pip reports it as "No matching distribution found (from
 * versions: none)", which reads like a version problem, and with PIP_RETRIES=0 it prints
 * nothing about the connection at all, so when pip found no version the index is tried once.
 * Otherwise pip's own error lines.
 */
export async function failureReason(tail: string[], argv: string[] = []): Promise<string> {
  const pip = tail
    .filter((l) => /error|not find|no matching|failed/i.test(l) && !UNREACHABLE.test(l))
    .slice(-3)
    .join(" | ");
  // pip's retry warnings name connection trouble it may have got over: they count only when pip
  // then found no distribution, else only the failing lines themselves (pip's ERROR lines, its
  // traceback's last line, uv's "Caused by:") do.
  const failing = tail.filter((l) => /error|failed|caused by/i.test(l) && !/^\s*warning\b/i.test(l));
  const none = tail.some((l) => /from versions: none|No matching distribution/i.test(l));
  const said = (none ? tail : failing).map((l) => UNREACHABLE.exec(l)?.[0]).find(Boolean);
  let why = said;
  const proxied = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"].some((v) => process.env[v]);
  if (!why && !proxied && tail.some((l) => /from versions: none/.test(l))) why = await unreachable(indexOf(argv, tail));
  if (!why) return pip;
  return `${mirrorHint(indexOf(argv, tail), why)}${pip ? ` (pip: ${pip})` : ""}`;
}

/** Runs the plan; resolves with the environment's record (the existing one when up to date). */
export async function runSetup(plan: SetupPlan, progress: Progress, quietMs = QUIET_MS): Promise<EnvRecord> {
  if (plan.action === "none") return readRecord(plan.dir)!;
  return withSetupLock(plan.dir, progress, async (waitedSince) => {
    // Another process's setup finished while this one waited: it built the same plan.
    const meanwhile = waitedSince === undefined ? undefined : readRecord(plan.dir);
    if (meanwhile && meanwhile.requirementsHash === plan.hash && Date.parse(meanwhile.updatedAt) >= waitedSince!) {
      progress(`environment ${plan.id} was set up meanwhile: ${plan.dir}`);
      return meanwhile;
    }
    return build(plan, progress, quietMs);
  });
}

async function build(plan: SetupPlan, progress: Progress, quietMs: number): Promise<EnvRecord> {
  const previous = readRecord(plan.dir);
  fs.rmSync(`${plan.dir}/${RECORD_FILE}`, { force: true }); // unfinished setup = needs setup
  const total = plan.steps.length;
  for (const [i, step] of plan.steps.entries()) {
    progress(`[${i + 1}/${total}] ${step.what}`);
    if (step.remove) {
      fs.rmSync(step.remove, { recursive: true, force: true });
      continue;
    }
    const { code, tail } = await run(step.argv!, (line) => progress(`    ${line}`), quietMs);
    if (code !== 0) {
      const why = await failureReason(tail, step.argv!);
      throw new SetupError(`step ${i + 1}/${total} failed (${step.what}, exit code ${code})${why ? `: ${why}` : ""}`, step.what, tail);
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
