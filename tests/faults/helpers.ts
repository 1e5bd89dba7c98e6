/** Fault-test helpers: a real Chorus with the fault fixtures, child-process lookups, stream reads. */
import fs from "node:fs";
import path from "node:path";
import { startChorus, type RunningChorus } from "../compat/server.ts";
import { tempDir } from "../helpers/temp.ts";

export const FAULT_PLUGINS = path.join(import.meta.dirname, "fixtures");

export interface FaultServer extends RunningChorus {
  faultDir: string;
  arm(...files: string[]): void;
}

export async function startFaultServer(overrides: Record<string, unknown> = {}, engines: Record<string, unknown> = {}): Promise<FaultServer> {
  const faultDir = tempDir("faults");
  const settings = { "fault-thread": { faultDir }, "fault-child": { faultDir } };
  const chorus = await startChorus(
    {},
    {
      dataDir: tempDir("faults-data"),
      log: { level: "silent" },
      engines: { dirs: ["engines", FAULT_PLUGINS], settings, ...engines },
      ...overrides,
    },
  );
  const close = async () => {
    // Sockets whose client aborted mid-request linger half-closed until keepAliveTimeout (72 s);
    // no request is running on them by now (the tests wait for every lease to come back).
    chorus.app.server.closeAllConnections();
    await chorus.close();
  };
  return { ...chorus, close, faultDir, arm: (...files) => files.forEach((f) => fs.writeFileSync(path.join(faultDir, f), "")) };
}

/** Polls a condition (no fixed sleep decides the outcome: only how often it is checked). */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, tries = 400): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Direct children of this process (pid, state, command line), from /proc. */
export function childProcesses(): { pid: number; state: string; cmd: string }[] {
  const out: { pid: number; state: string; cmd: string }[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) !== process.pid) continue;
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      out.push({ pid: Number(name), state: fields[0]!, cmd: cmd || stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

export const zombies = () => childProcesses().filter((p) => p.state === "Z");

/** Reads a whole response body; `ok: false` when the connection was cut (a visible failure). */
export async function readBody(res: Response): Promise<{ ok: boolean; bytes: Buffer; error?: string }> {
  const parts: Buffer[] = [];
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parts.push(Buffer.from(chunk));
    return { ok: true, bytes: Buffer.concat(parts) };
  } catch (err) {
    return { ok: false, bytes: Buffer.concat(parts), error: String((err as Error).cause ?? err) };
  }
}

/** Sentences the fixture speaks: 0.3 s each. */
export const SENTENCES = ["One two three.", "Four five six.", "Now Crash here.", "Seven eight nine.", "Ten and done."];
export const SECONDS_PER_SENTENCE = 0.3;
