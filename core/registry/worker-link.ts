/**
 * The pipe to one engine worker: a worker thread (isolation "worker") or a child process
 * (isolation "process") running boot.mjs, with the message contract of protocol.ts on top.
 * A link lives as long as its worker; a restarted engine gets a new link.
 */
import { fork } from "node:child_process";
import { constants } from "node:os";
import { Worker } from "node:worker_threads";
import { EngineError, deserializeError } from "../sdk/errors.ts";
import type { EngineBootData, EngineToHost, HostToEngine } from "./protocol.ts";
import { transpilerPort } from "./transpiler.ts";
import { watchRss, workerResourceLimits } from "./memory-limit.ts";

const osSignals = constants.signals as Record<string, number>;
const BOOT_SCRIPT = new URL("./boot.mjs", import.meta.url);

export interface LinkHandlers {
  message(message: EngineToHost): void;
  /** The worker is gone, whatever the cause (crash, `kill`, `process.exit` in the plugin). */
  exit(code: number | null): void;
  error(err: Error): void;
  /** The worker passed its memory limit (it is being stopped; `exit` follows). */
  memory?(detail: string): void;
}

/** The memory limit a link enforces (memory-limit.ts). */
export interface LinkLimits {
  memoryMb: number;
  pollMs: number;
}

export interface Link {
  post(message: HostToEngine): void;
  /** Stops the worker at once (even one stuck in a busy loop); resolves when it is gone. */
  kill(): Promise<void>;
}

export function spawnLink(boot: EngineBootData, isolation: "worker" | "process", handlers: LinkHandlers, limits?: LinkLimits): Link {
  let gone = false;
  let markGone!: () => void;
  const exited = new Promise<void>((resolve) => (markGone = resolve));
  const onExit = (code: number | null) => {
    if (gone) return;
    gone = true;
    markGone();
    handlers.exit(code);
  };
  if (isolation === "process") {
    const child = fork(BOOT_SCRIPT, [JSON.stringify(boot)], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.on("message", (m) => handlers.message(m as EngineToHost));
    const stopWatch = limits && child.pid ? watchRss(child.pid, limits.memoryMb, limits.pollMs, (rss) => {
      handlers.memory?.(`resident memory ${Math.round(rss)} MB passed the limit of ${limits.memoryMb} MB`);
      child.kill("SIGKILL");
    }) : () => {};
    child.on("exit", (code, signal) => {
      stopWatch();
      onExit(code ?? (signal ? 128 + (osSignals[signal] ?? 0) : null));
    });
    child.on("error", (err) => handlers.error(err));
    return {
      post: (message) => {
        if (!gone && child.connected) child.send(message, (err: Error | null) => err && handlers.error(err));
      },
      kill: async () => {
        if (!gone && child.exitCode === null) child.kill("SIGKILL");
        await exited;
      },
    };
  }
  const transpiler = transpilerPort(); // no esbuild of the worker's own (it would be left a zombie)
  const resourceLimits = limits ? workerResourceLimits(limits.memoryMb) : undefined;
  const worker = new Worker(BOOT_SCRIPT, { workerData: { ...boot, transpiler }, transferList: [transpiler], stdout: false, stderr: false, resourceLimits });
  worker.on("message", (m: EngineToHost) => handlers.message(m));
  worker.on("error", (err: Error & { code?: string }) => {
    if (err.code === "ERR_WORKER_OUT_OF_MEMORY") handlers.memory?.(`JS heap passed the limit of ${resourceLimits?.maxOldGenerationSizeMb} MB`);
    handlers.error(err);
  });
  worker.on("exit", onExit);
  return {
    post: (message) => {
      if (!gone) worker.postMessage(message);
    },
    kill: async () => {
      if (!gone) await worker.terminate();
      await exited;
    },
  };
}

/**
 * Spawns a worker and waits for its engine to be created: `ready` resolves on "ready" and
 * rejects with the plugin's own error ("boot-failed"), on an early exit, or after `timeoutMs`
 * (the worker is killed then). Other messages, and the exit, go to `handlers`.
 */
export function bootWorker(boot: EngineBootData, isolation: "worker" | "process", timeoutMs: number, handlers: LinkHandlers, limits?: LinkLimits): { link: Link; ready: Promise<void> } {
  let settle!: (err?: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    let settled = false;
    settle = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
  });
  const link = spawnLink(boot, isolation, {
    message: (m) => {
      if (m.type === "ready") settle();
      else if (m.type === "boot-failed") {
        settle(deserializeError(m.error));
        void link.kill();
      } else handlers.message(m);
    },
    exit: (code) => {
      settle(new EngineError("ENGINE_FAILED", `engine worker exited with code ${code} while starting`));
      handlers.exit(code);
    },
    error: handlers.error,
    memory: handlers.memory,
  }, limits);
  const timer = setTimeout(() => {
    settle(new EngineError("ENGINE_FAILED", `plugin did not start within ${timeoutMs} ms`));
    void link.kill();
  }, timeoutMs);
  return { link, ready };
}
