/**
 * A real `chorus serve` process for end-to-end tests: port 0 (the bound address is read from
 * the "chorus listening" log line), its own data folder, and engine folders of the test's
 * choosing through CHORUS_ENGINES__DIRS. Tests never touch the repository's plugins/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const FIXTURES = path.join(import.meta.dirname, "fixtures");

export interface TestServer {
  url: string;
  dataDir: string;
  /** Parsed JSON log lines so far. */
  logs: Record<string, unknown>[];
  child: ChildProcess;
  stop(): Promise<void>;
}

import { tempDir } from "../helpers/temp.ts";

export { tempDir };

/** Copies a fixture plugin into `dir` (as folder `name`). */
export function installFixture(fixture: string, dir: string, name = fixture): string {
  const target = path.join(dir, name);
  fs.cpSync(path.join(FIXTURES, fixture), target, { recursive: true });
  return target;
}

export async function startServer(options: { pluginDirs: string[]; dataDir?: string; env?: Record<string, string> }): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir("data");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CHORUS_ENGINES__DIRS: JSON.stringify(["engines", ...options.pluginDirs]),
    CHORUS_DATA_DIR: dataDir,
    CHORUS_LOG__FORMAT: "json",
    CHORUS_LOG__LEVEL: "info",
    CHORUS_SCHEDULER__DEVICES__GPUS: "off",
    ...options.env,
  };
  const child = spawn(process.execPath, [path.join(ROOT, "core/cli/chorus.mjs"), "serve", "--port", "0"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let buffered = "";
  /** Everything it wrote to stderr, for the error when it does not start. */
  let written = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${written}`)), 30_000);
    child.once("exit", (code) => reject(new Error(`server exited with ${code}:\n${written}`)));
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (text: string) => {
      buffered += text;
      written += text;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === "chorus listening") {
            clearTimeout(timer);
            resolve(String(entry.address));
          }
        } catch {
          logs.push({ raw: line });
        }
      }
    });
  });
  return {
    url,
    dataDir,
    logs,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function engines(
  server: TestServer,
): Promise<{ default: string; engines: { id: string; version: string | null; state: string; errors: string[]; generation: number }[] }> {
  const res = await fetch(`${server.url}/api/engines`);
  return (await res.json()) as never;
}

export async function engine(server: TestServer, id: string) {
  return (await engines(server)).engines.find((e) => e.id === id);
}

export async function speak(server: TestServer, body: Record<string, unknown>): Promise<{ status: number; rate: number; bytes: number; body: Buffer }> {
  const res = await fetch(`${server.url}/api/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ format: "pcm", ...body }),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, rate: Number(res.headers.get("x-sample-rate")), bytes: buf.length, body: buf };
}

/** The least time `waitFor` gives a condition before it reports it as not met. */
export const WAIT_CEILING_MS = 30_000;

/**
 * Polls `check` every 25 ms until it returns a truthy value; returns the value. The time given
 * is only a ceiling so a broken condition fails with a message instead of hanging, never a
 * speed claim: it is at least WAIT_CEILING_MS, whatever the caller passes (a short figure in
 * a test would make it flake on a loaded machine). Speed is checked by benchmarks.
 * Called as `waitFor(check, what)`, `waitFor(check, what, ms)` or `waitFor(check, ms, what)`.
 */
export async function waitFor<T>(check: () => Promise<T> | T, ...args: [string] | [string, number] | [number, string]): Promise<NonNullable<T>> {
  const what = String(args.find((a) => typeof a === "string"));
  const ms = Math.max(WAIT_CEILING_MS, Number(args.find((a) => typeof a === "number") ?? 0));
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Whether /health answers ok; `ms` is a ceiling against a hung server, not a speed claim. */
export async function healthy(server: TestServer, ms = 30_000): Promise<boolean> {
  const res = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(ms) });
  return res.status === 200 && ((await res.json()) as { status: string }).status === "ok";
}
