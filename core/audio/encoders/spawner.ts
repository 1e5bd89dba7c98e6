/**
 * Starting encoder processes without stalling the event loop. `child_process.spawn` forks the
 * calling process, and the loop waits while the kernel copies its page tables: measured 6-15
 * ms for a fresh host, 25-47 ms once Piper is loaded and 70-80 ms at 1 GB, which landed right
 * in the first-audio window of every aac/flac stream (the spare ffmpeg is started as a stream
 * begins) and stalled every other response meanwhile. So one small launcher process
 * (spawner.child.mjs) is started once and forks the encoders instead; their stdin and stdout
 * come back over the IPC channel as sockets, the exit status and stderr as a message.
 * The launcher and the channel never keep the host alive by themselves: the channel is held
 * only while a start is pending or a ref'd process runs. If the host dies, the launcher kills
 * its children and exits; if the launcher dies, its processes read as failed and the next
 * start brings up a new launcher.
 */
import { fork, type ChildProcess } from "node:child_process";
import { Socket } from "node:net";

export interface ExitStatus {
  code: number | null;
  signal: string | null;
  /** The end of the process's stderr (at most 2,000 characters). */
  stderr: string;
}

export interface Launched {
  readonly pid: number;
  readonly stdin: Socket;
  readonly stdout: Socket;
  /** Resolves once the process has ended and its stderr is read. */
  readonly exited: Promise<ExitStatus>;
  alive(): boolean;
  kill(): void;
  /** Whether waiting on this process keeps the host alive (default yes; a spare does not). */
  ref(): void;
  unref(): void;
}

interface Entry {
  resolve(p: Launched): void;
  reject(err: Error): void;
  stdout?: Socket;
  pid?: number;
  launched?: Launched;
  settle?(status: ExitStatus): void;
  held: boolean;
}

let launcher: ChildProcess | undefined;

/** A stream that already ended, for a pipe the launcher could not hand over (its process is gone). */
function ended(): Socket {
  const s = new Socket();
  s.destroy();
  return s;
}
const entries = new Map<number, Entry>();
let nextId = 1;

/** Launchers started so far (tests: one serves every encoder process). */
export const launcherStats = { started: 0 };

function holdChannel(): void {
  const held = [...entries.values()].some((e) => e.held);
  const channel = launcher?.channel as { ref(): void; unref(): void } | undefined;
  if (held) channel?.ref();
  else channel?.unref();
}

function startLauncher(): ChildProcess {
  launcherStats.started++;
  // execArgv []: plain JavaScript, no TypeScript loader; stderr shared for a crash's message.
  const child = fork(new URL("./spawner.child.mjs", import.meta.url), [], { execArgv: [], stdio: ["ignore", "ignore", "inherit", "ipc"] });
  child.unref();
  child.on(
    "message",
    (m: { op: string; id: number; pid?: number; code?: number | null; signal?: string | null; stderr?: string; message?: string }, handle?: Socket) =>
      onMessage(m, handle),
  );
  const gone = () => {
    if (launcher !== child) return;
    launcher = undefined;
    for (const [id, e] of entries) {
      entries.delete(id);
      if (e.settle && e.launched) {
        // Orphaned now, it would run on: ended here, so its stream sees the end and fails.
        try {
          process.kill(e.launched.pid, "SIGKILL");
        } catch {
          /* already gone */
        }
        e.settle({ code: null, signal: "SIGKILL", stderr: "the encoder launcher exited" });
      } else {
        e.stdout?.destroy();
        e.reject(new Error("the encoder launcher exited"));
      }
    }
  };
  child.on("exit", gone);
  child.on("error", gone);
  return child;
}

function onMessage(
  m: { op: string; id: number; pid?: number; code?: number | null; signal?: string | null; stderr?: string; message?: string },
  handle?: Socket,
): void {
  const e = entries.get(m.id);
  if (!e) {
    handle?.destroy();
    return;
  }
  if (m.op === "stdout") {
    e.stdout = handle ?? ended();
    e.pid = m.pid;
  } else if (m.op === "stdin" && e.stdout) {
    const stdin = handle ?? ended();
    const stdout = e.stdout;
    let status: ExitStatus | undefined;
    const exited = new Promise<ExitStatus>((resolve) => {
      e.settle = (s) => {
        status = s;
        entries.delete(m.id);
        holdChannel();
        resolve(s);
      };
    });
    const id = m.id;
    const launched: Launched = {
      pid: e.pid ?? 0,
      stdin,
      stdout,
      exited,
      alive: () => status === undefined,
      kill: () => {
        if (status === undefined) launcher?.send({ op: "kill", id });
      },
      ref: () => {
        e.held = true;
        holdChannel();
        for (const s of [stdin, stdout]) s.ref();
      },
      unref: () => {
        e.held = false;
        holdChannel();
        for (const s of [stdin, stdout]) s.unref();
      },
    };
    e.launched = launched;
    e.resolve(launched);
  } else if (m.op === "exit") {
    e.settle?.({ code: m.code ?? null, signal: m.signal ?? null, stderr: m.stderr ?? "" });
  } else if (m.op === "error") {
    entries.delete(m.id);
    holdChannel();
    e.reject(new Error(m.message ?? "cannot start the process"));
  }
}

/**
 * Starts the launcher now, while the host is small (the one fork from the host; its cost
 * grows with the host's memory), instead of at the first stream that needs ffmpeg.
 */
export function startLauncherEarly(): void {
  launcher ??= startLauncher();
  holdChannel();
}

/** Starts `cmd args` through the launcher; resolves once it runs, with its stdin and stdout. */
export function launch(cmd: string, args: string[]): Promise<Launched> {
  launcher ??= startLauncher();
  const id = nextId++;
  const started = new Promise<Launched>((resolve, reject) => entries.set(id, { resolve, reject, held: true }));
  holdChannel();
  launcher.send({ op: "spawn", id, cmd, args });
  return started;
}

/** Ends the launcher and with it every process it started (tests). */
export function closeLauncher(): void {
  launcher?.kill("SIGKILL");
}
