/**
 * The transport to one engine (docs/protocol.md, "Transports"): a worker thread (isolation
 * "worker": messages by postMessage, PCM transferred) or a child process (isolation
 * "process": framed messages on fd 3; stdout and stderr are captured line by line into the
 * log, never read as protocol). A link lives as long as its worker; a restart gets a new link.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Duplex } from "node:stream";
import { Worker } from "node:worker_threads";
import { EngineError } from "../../packages/sdk/src/index.ts";
import { FrameDecoder, encodeFrame, payloadToSamples } from "./framing.ts";
import type { EngineBootData, EngineToHost, HostToEngine } from "./protocol.ts";
import { PROTOCOL_VERSION } from "./protocol.ts";
import { fromWireError } from "./wire-errors.ts";
import { transpilerPort } from "./transpiler.ts";
import { watchRss, workerResourceLimits } from "./memory-limit.ts";
import { workerHeapReader } from "./heap-reading.ts";
import { serverMemory } from "./server-memory.ts";
import { constants as osConstants } from "node:os";

const osSignals = osConstants.signals as Record<string, number>;

const BOOT_SCRIPT = new URL("./boot.mjs", import.meta.url);
/** How long a child process gets to exit after `shutdown` before it is killed. */
const SHUTDOWN_GRACE_MS = 2000;

export interface LinkHandlers {
  message(message: EngineToHost): void;
  /** The worker is gone, whatever the cause (crash, `kill`, `process.exit` in the plugin). */
  exit(code: number | null): void;
  error(err: Error): void;
  /** A line the engine's process printed on stdout or stderr. */
  output?(stream: "stdout" | "stderr", line: string): void;
  /** The worker passed its memory limit (it is being stopped; `exit` follows); `usedMb`: what it held then. */
  memory?(detail: string, usedMb: number): void;
}

/** The memory limit a link enforces (memory-limit.ts). */
export interface LinkLimits {
  memoryMb: number;
  pollMs: number;
  /** Worker threads: the server's RSS ceiling (server-memory.ts; undefined: 80 % of the system's memory) and how often it is read. */
  serverCeilingMb?: number;
  serverPollMs?: number;
}

export interface Link {
  post(message: HostToEngine): void;
  /** Stops the worker at once (even one stuck in a busy loop); resolves when it is gone. */
  kill(): Promise<void>;
  /** Asks the engine to exit (`shutdown`), and kills it after a grace period. */
  shutdown(): Promise<void>;
}

/** The command that starts an engine's child process (the Node runtime unless told otherwise). */
export interface ProcessCommand {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function nodeProcessCommand(boot: EngineBootData): ProcessCommand {
  return {
    command: process.execPath,
    args: [...process.execArgv.filter((a) => a.startsWith("--max-old-space-size")), fileURLToPath(BOOT_SCRIPT), JSON.stringify(boot)],
  };
}

function exitTracker(handlers: LinkHandlers) {
  let gone = false;
  let markGone!: () => void;
  const exited = new Promise<void>((resolve) => (markGone = resolve));
  return {
    get gone() {
      return gone;
    },
    exited,
    onExit(code: number | null) {
      if (gone) return;
      gone = true;
      markGone();
      handlers.exit(code);
    },
  };
}

/** A child process speaking the protocol on fd 3. */
export function spawnProcessLink(cmd: ProcessCommand, handlers: LinkHandlers, limits?: LinkLimits): Link {
  const tracker = exitTracker(handlers);
  const child = spawn(cmd.command, cmd.args, {
    cwd: cmd.cwd,
    env: { ...process.env, ...cmd.env, CHORUS_PROTOCOL_FD: "3" },
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  const channel = child.stdio[3] as Duplex;
  const decoder = new FrameDecoder();
  const fail = (err: Error) => {
    handlers.error(new EngineError("ENGINE_FAILED", `protocol error: ${err.message}`));
    if (!tracker.gone && child.exitCode === null) child.kill("SIGKILL");
  };
  channel.on("data", (data: Buffer) => {
    let frames;
    try {
      frames = decoder.push(data);
    } catch (err) {
      fail(err as Error);
      return;
    }
    for (const { header, payload } of frames) {
      if (header.type === "chunk") {
        const { payloadLength: _, ...rest } = header;
        handlers.message({ ...(rest as object), samples: payloadToSamples(payload) } as EngineToHost);
      } else handlers.message(header as unknown as EngineToHost);
    }
  });
  channel.on("error", () => {}); // the exit follows
  for (const name of ["stdout", "stderr"] as const) {
    const stream = child[name];
    if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => handlers.output?.(name, line));
  }
  const stopWatch =
    limits && child.pid
      ? watchRss(child.pid, limits.memoryMb, limits.pollMs, (rss) => {
          handlers.memory?.(`resident memory ${Math.round(rss)} MB passed the limit of ${limits.memoryMb} MB`, rss);
          child.kill("SIGKILL");
        })
      : () => {};
  child.on("exit", (code, signal) => {
    stopWatch();
    tracker.onExit(code ?? (signal ? 128 + (osSignals[signal] ?? 0) : null));
  });
  child.on("error", (err) => {
    handlers.error(err);
    tracker.onExit(null);
  });
  const kill = async () => {
    if (!tracker.gone && child.exitCode === null) child.kill("SIGKILL");
    await tracker.exited;
  };
  return {
    post: (message) => {
      if (tracker.gone || !channel.writable) return;
      for (const part of encodeFrame(message as unknown as Record<string, unknown>)) channel.write(part);
    },
    kill,
    shutdown: async () => {
      if (tracker.gone) return;
      if (channel.writable) for (const part of encodeFrame({ type: "shutdown" })) channel.write(part);
      const timer = setTimeout(() => void kill(), SHUTDOWN_GRACE_MS);
      await tracker.exited;
      clearTimeout(timer);
    },
  };
}

function spawnWorkerLink(boot: EngineBootData, handlers: LinkHandlers, limits?: LinkLimits): Link {
  const tracker = exitTracker(handlers);
  const transpiler = transpilerPort(); // no esbuild of the worker's own (it would be left a zombie)
  const resourceLimits = limits ? workerResourceLimits(limits.memoryMb) : undefined;
  const workerData = { ...boot, transpiler, usageEveryMs: limits?.pollMs };
  const worker = new Worker(BOOT_SCRIPT, { workerData, transferList: [transpiler], stdout: false, stderr: false, resourceLimits });
  let stopped = false;
  /** The memory kill: the handler hears why (the calls then fail with a memory error), the thread goes. */
  const stopForMemory = (detail: string, usedMb: number) => {
    if (stopped || tracker.gone) return tracker.exited;
    stopped = true;
    handlers.memory?.(detail, usedMb);
    return worker.terminate().then(() => tracker.exited);
  };
  // Buffers and ArrayBuffers lie outside the V8 heap limit: the runtime reports the isolate's
  // heap + external memory (with every chunk and on its timer), checked here against the same
  // limit; the server-wide watch covers a thread too busy to report, reading its heap from here
  // where Node can and the server's RSS everywhere (server-memory.ts has the whole picture).
  const checkLimit = (heapMb: number, externalMb: number) => {
    const used = heapMb + externalMb;
    if (limits && used > limits.memoryMb)
      void stopForMemory(
        `JS heap ${Math.round(heapMb)} MB + external memory (Buffers, ArrayBuffers) ${Math.round(externalMb)} MB passed the limit of ${limits.memoryMb} MB`,
        used,
      );
  };
  const watch = limits
    ? serverMemory.register(
        { label: boot.manifest.id, stop: (detail, mb) => stopForMemory(detail, mb), readHeap: workerHeapReader(worker, checkLimit) },
        limits.serverCeilingMb,
        limits.serverPollMs ?? 50,
        limits.pollMs,
      )
    : undefined;
  const report = (heapMb: number, externalMb: number) => {
    watch?.report(heapMb + externalMb);
    checkLimit(heapMb, externalMb);
  };
  worker.on("message", (m: EngineToHost) => {
    if (m.type === "usage") return report(m.heapMb, m.externalMb);
    if (m.type === "chunk" && m.usage) report(m.usage.heapMb, m.usage.externalMb);
    handlers.message(m);
  });
  worker.on("error", (err: Error & { code?: string }) => {
    if (err.code === "ERR_WORKER_OUT_OF_MEMORY" && !stopped)
      handlers.memory?.(`JS heap passed the limit of ${resourceLimits?.maxOldGenerationSizeMb} MB`, resourceLimits?.maxOldGenerationSizeMb ?? 0);
    handlers.error(err);
  });
  worker.on("exit", (code) => {
    watch?.unregister();
    tracker.onExit(code);
  });
  const kill = async () => {
    if (!tracker.gone) await worker.terminate();
    await tracker.exited;
  };
  return {
    post: (message) => {
      if (!tracker.gone) worker.postMessage(message);
    },
    kill,
    shutdown: kill, // a thread holds nothing the process does not free: stop it at once
  };
}

export function spawnLink(boot: EngineBootData, isolation: "worker" | "process", handlers: LinkHandlers, limits?: LinkLimits): Link {
  return isolation === "process" ? spawnProcessLink(nodeProcessCommand(boot), handlers, limits) : spawnWorkerLink(boot, handlers, limits);
}

/** What a runtime said in its `ready`: its SDK, its language runtime, its protocol version. */
export interface RuntimeInfo {
  sdk: string;
  runtime: string;
  protocol: string;
}

/**
 * Spawns a worker and waits for its engine to be created: `ready` resolves on "ready" and
 * rejects with the plugin's own error ("boot-failed"), a runtime of another protocol major,
 * an early exit, or after `timeoutMs` (the worker is killed then). Other messages, and the
 * exit, go to `handlers`.
 */
export function bootWorker(
  boot: EngineBootData,
  isolation: "worker" | "process",
  timeoutMs: number,
  handlers: LinkHandlers,
  spawnIt?: (h: LinkHandlers) => Link,
  limits?: LinkLimits,
): { link: Link; ready: Promise<RuntimeInfo> } {
  let settle!: (err?: Error, info?: RuntimeInfo) => void;
  const ready = new Promise<RuntimeInfo>((resolve, reject) => {
    let settled = false;
    settle = (err, info) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(info!);
    };
  });
  const spawnFn = spawnIt ?? ((h: LinkHandlers) => spawnLink(boot, isolation, h, limits));
  const link = spawnFn({
    ...handlers,
    message: (m) => {
      if (m.type === "ready") {
        const major = (v: string | undefined) => String(v ?? PROTOCOL_VERSION).split(".")[0];
        if (major(m.protocol) !== major(PROTOCOL_VERSION)) {
          settle(new EngineError("ENGINE_FAILED", `engine runtime speaks protocol ${m.protocol}; this host speaks ${PROTOCOL_VERSION}`));
          void link.kill();
        } else settle(undefined, { sdk: m.sdk, runtime: m.runtime, protocol: m.protocol ?? "1.0.0" });
      } else if (m.type === "boot-failed") {
        settle(fromWireError(m.error));
        void link.kill();
      } else handlers.message(m);
    },
    exit: (code) => {
      settle(new EngineError("ENGINE_FAILED", `engine worker exited with code ${code} while starting`));
      handlers.exit(code);
    },
  });
  const timer = setTimeout(() => {
    settle(new EngineError("ENGINE_FAILED", `plugin did not start within ${timeoutMs} ms`));
    void link.kill();
  }, timeoutMs);
  return { link, ready };
}
