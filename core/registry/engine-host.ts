/**
 * Host side of one engine instance: owns its worker thread (or child process) and its
 * lifecycle. The calls themselves (time limits, synthesis streams with credits and
 * cancellation, the ping that finds a stuck worker) are engine-calls.ts. Failure containment
 * lives here: a worker that dies after its engine loaded is restarted with backoff and
 * reloaded with the same context. Calls in flight on a dead worker fail with ENGINE_FAILED;
 * marked as a lost worker (a crash, or a hang: a synthesis without audio for `chunkSeconds`
 * whose worker then misses a ping, `pingTimeoutMs`, is killed, engine-calls.ts), so the
 * pipeline can resume them on the restarted worker; the host process is never at risk.
 */
import { EventEmitter } from "node:events";
import { pathToFileURL } from "node:url";
import path from "node:path";
import type { Logger } from "pino";
import type { AudioChunk, EngineHealth, MemoryReport, SynthesisRequest, Voice } from "../../packages/sdk/src/index.ts";
import type { Manifest } from "../../packages/sdk/src/index.ts";
import { EngineError, SynthesisAbortedError } from "../../packages/sdk/src/index.ts";
import { MAX_CHUNK_BYTES, type EngineToHost, type HostLoadContext, type WireLoadContext } from "./protocol.ts";

export type { HostLoadContext } from "./protocol.ts";
import { workerLost } from "./pending-calls.ts";
import { bootWorker, spawnProcessLink, type Link, type LinkLimits, type ProcessCommand } from "./worker-link.ts";
import { EngineCalls, type CallMessage } from "./engine-calls.ts";
import { DEFAULT_MEMORY_POLICY, memoryLimitMb, type MemoryPolicy } from "./memory-limit.ts";
import { memoryExceeded } from "./memory-error.ts";
import { constants as osConstants } from "node:os";

export interface RestartPolicy {
  /** Consecutive crashes tolerated before the instance is given up (emits "exit"). */
  maxRestarts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface EngineHostOptions {
  manifest: Manifest;
  pluginDir: string;
  log: Logger;
  /** How long creating the engine (importing its code) may take. */
  bootTimeoutMs?: number;
  /** The registry generation this instance runs (see Registry). */
  generation?: number;
  restart?: Partial<RestartPolicy>;
  /** How long a worker may take to answer a ping before it counts as hung. */
  pingTimeoutMs?: number;
  /** Memory limit per plugin (memory-limit.ts); default policy when absent. */
  memory?: MemoryPolicy;
  /**
   * For `isolation: "process"`: the command that starts a runtime of another language (e.g.
   * the Python runtime) speaking the protocol on fd 3. Default: the Node runtime.
   */
  processCommand?: ProcessCommand;
}

type State = "new" | "starting" | "running" | "restarting" | "stopped";

/**
 * Events: "crash" (reason: string) when the worker died and a restart is scheduled;
 * "restart" () when it serves again; "exit" (code) when the instance is gone for good;
 * "memory" (MemoryReport) when the engine reports what it holds.
 */
export class EngineHost extends EventEmitter {
  readonly manifest: Manifest;
  readonly generation: number;
  /** Times the worker was restarted after a crash. */
  restarts = 0;
  private readonly log: Logger;
  private readonly options: EngineHostOptions;
  private readonly policy: RestartPolicy;
  private link?: Link;
  private readonly calls: EngineCalls;
  private state: State = "new";
  private loadContext?: WireLoadContext;
  /** What the engine's runtime said at start (`ready`): its SDK version and runtime. */
  runtimeInfo?: { sdk: string; runtime: string };
  /** The engine's last own memory reading (`memory` message). */
  lastMemory?: MemoryReport;
  private crashes = 0;
  private restartTimer?: NodeJS.Timeout;
  private revived?: { promise: Promise<void>; resolve(): void; reject(err: Error): void };
  /** Set when the worker was killed for not answering; its exit then fails calls as a hang. */
  private hangNote?: string;
  /** Set when the worker passed its memory limit; its exit then fails calls with a memory error. */
  private memoryNote?: { detail: string; usedMb: number };

  constructor(options: EngineHostOptions) {
    super();
    this.options = options;
    this.manifest = options.manifest;
    this.generation = options.generation ?? 0;
    this.log = options.log;
    this.policy = { maxRestarts: 5, initialDelayMs: 250, maxDelayMs: 30_000, ...options.restart };
    this.calls = new EngineCalls({ log: this.log, link: () => this.link, pingTimeoutMs: options.pingTimeoutMs, hung: (note) => (this.hangNote = note) });
  }

  /** Spawns the worker and creates the engine in it. Rejects if the plugin fails to boot. */
  async start(): Promise<void> {
    this.state = "starting";
    try {
      await this.boot();
      this.state = "running";
    } catch (err) {
      await this.stop(null);
      throw err;
    }
  }

  get alive(): boolean {
    return this.state !== "stopped";
  }

  onExit(listener: (code: number | null) => void): void {
    this.once("exit", listener);
  }

  async load(context: HostLoadContext): Promise<void> {
    const wire: WireLoadContext = { ...context, profile: context.profile.name, maxChunkBytes: MAX_CHUNK_BYTES };
    await this.call({ type: "load", context: wire }, this.seconds("loadSeconds"));
    this.loadContext = wire;
  }

  unload(): Promise<void> {
    return this.call({ type: "unload" }, this.seconds("chunkSeconds")) as Promise<void>;
  }

  listVoices(): Promise<Voice[]> {
    return this.call({ type: "voices" }, this.seconds("chunkSeconds")) as Promise<Voice[]>;
  }

  health(): Promise<EngineHealth> {
    return this.call({ type: "health" }, this.seconds("chunkSeconds")) as Promise<EngineHealth>;
  }

  /** Streams the engine's chunks; aborting `signal` cancels the work inside the engine. */
  async *synthesize(request: SynthesisRequest, signal: AbortSignal): AsyncGenerator<AudioChunk> {
    if (signal.aborted) throw new SynthesisAbortedError();
    await this.whenServing();
    yield* this.calls.synthesize(request, signal, this.seconds("chunkSeconds"));
    this.crashes = 0; // a completed request shows the restarted worker is healthy
  }

  /** Asks the engine to exit (`shutdown`), killing it after a grace period; no restart follows. */
  async shutdown(): Promise<void> {
    if (this.state === "stopped") return;
    const link = this.link;
    this.link = undefined;
    await link?.shutdown();
    await this.stop(null);
  }

  /** Stops the worker at once; calls in flight fail; no restart follows. */
  async terminate(): Promise<void> {
    if (this.state === "stopped") return;
    await this.stop(null);
  }

  private limits(): LinkLimits {
    const policy = { ...DEFAULT_MEMORY_POLICY, ...this.options.memory };
    const runtime = this.manifest.isolation === "process" ? policy.processRuntimeMb : 0;
    return {
      memoryMb: memoryLimitMb(this.manifest, policy).limitMb + runtime,
      pollMs: policy.pollMs,
      serverCeilingMb: policy.serverCeilingMb,
      serverPollMs: policy.serverPollMs,
    };
  }

  private seconds(kind: "loadSeconds" | "chunkSeconds"): number {
    return this.manifest.timeouts?.[kind] ?? 120;
  }

  private async boot(): Promise<void> {
    this.hangNote = undefined; // a note about the worker this boot replaces
    const { link, ready } = bootWorker(
      { manifest: this.manifest, pluginDir: this.options.pluginDir, entryUrl: pathToFileURL(path.resolve(this.options.pluginDir, this.manifest.entry)).href },
      this.manifest.isolation,
      this.options.bootTimeoutMs ?? 30_000,
      {
        message: (m) => this.link === link && this.handle(m),
        exit: (code) => this.link === link && this.onWorkerExit(code),
        error: (err) => this.log.error({ err }, "engine worker error"),
        output: (stream, line) => this.link === link && this.log[stream === "stderr" ? "warn" : "info"]({ stream }, line),
        memory: (detail, usedMb) => {
          if (this.link !== link) return;
          this.memoryNote = { detail, usedMb };
          this.log.error({ reason: "memory_limit", detail }, `engine exceeded its memory limit: ${detail}`);
        },
      },
      this.options.processCommand && this.manifest.isolation === "process"
        ? (h) => spawnProcessLink(this.options.processCommand!, h, this.limits())
        : undefined,
      this.limits(),
    );
    this.link = link;
    this.runtimeInfo = await ready;
  }

  private onWorkerExit(code: number | null): void {
    this.link = undefined;
    if (this.state === "running" && this.loadContext) {
      const memory = this.memoryNote;
      const hang = this.hangNote;
      this.memoryNote = this.hangNote = undefined;
      const reason = memory
        ? `engine stopped for memory (${memory.detail})`
        : hang
          ? `engine worker hung (${hang}) and was killed`
          : `engine worker crashed (${describeExit(code)})`;
      const memoryError = memory
        ? () =>
            memoryExceeded(
              this.manifest.id,
              memory.detail,
              { ...memoryLimitMb(this.manifest, this.options.memory), limitMb: this.limits().memoryMb },
              memory.usedMb,
            )
        : undefined;
      this.calls.failAll(reason, memoryError, hang ? "hang" : "crash");
      this.log.error({ reason: hang ? "worker_hang" : "worker_crash", code }, reason);
      this.emit("crash", reason);
      this.scheduleRestart(reason, code);
    } else if (this.state === "running" || this.state === "starting") {
      void this.stop(code);
    } else if (this.state === "restarting") {
      this.calls.failAll(`engine worker exited (code ${code}) while restarting`); // the reload in flight fails now
    }
  }

  private scheduleRestart(reason: string, code: number | null): void {
    this.crashes++;
    if (this.crashes > this.policy.maxRestarts) {
      this.log.error({ reason: "restart_limit", crashes: this.crashes - 1 }, "engine keeps crashing; giving up");
      void this.stop(code, new EngineError("ENGINE_FAILED", `engine gave up after ${this.crashes - 1} restarts: ${reason}`));
      return;
    }
    this.state = "restarting";
    if (!this.revived) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => {});
      this.revived = { promise, resolve, reject };
    }
    const delay = Math.min(this.policy.initialDelayMs * 2 ** (this.crashes - 1), this.policy.maxDelayMs);
    this.log.warn({ reason: "restart_scheduled", delayMs: delay, attempt: this.crashes }, "restarting engine worker");
    this.restartTimer = setTimeout(() => void this.restart(code), delay);
  }

  private async restart(code: number | null): Promise<void> {
    try {
      await this.boot();
      await this.calls.send({ type: "load", context: this.loadContext! }, this.seconds("loadSeconds"));
    } catch (err) {
      if (this.state !== "restarting") return;
      await this.link?.kill();
      this.scheduleRestart(`restart failed: ${(err as Error).message}`, code);
      return;
    }
    if (this.state !== "restarting") return;
    this.state = "running";
    this.restarts++;
    this.revived?.resolve();
    this.revived = undefined;
    this.log.info({ reason: "restarted", restarts: this.restarts }, "engine worker restarted");
    this.emit("restart");
  }

  private async stop(code: number | null, why = new EngineError("ENGINE_FAILED", "engine stopped")): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    clearTimeout(this.restartTimer);
    this.revived?.reject(workerLost(why));
    this.calls.failAll(why.message);
    const link = this.link;
    this.link = undefined;
    await link?.kill();
    this.emit("exit", code);
  }

  private async whenServing(): Promise<void> {
    // A call sent to a stuck worker would only die with it: wait until it is known to answer
    // (or has been replaced).
    if (this.calls.probing) await this.calls.probing;
    if (this.state === "restarting" && this.revived) await this.revived.promise;
    if (this.state === "stopped") throw workerLost(new EngineError("ENGINE_FAILED", "engine worker is not running"));
  }

  private async call(message: CallMessage, timeoutSeconds: number): Promise<unknown> {
    await this.whenServing();
    return this.calls.send(message, timeoutSeconds);
  }

  private handle(message: EngineToHost): void {
    if (this.calls.route(message)) return;
    if (message.type === "log") this.log[message.level](message.extra ?? {}, message.msg);
    else if (message.type === "memory") {
      const { type: _, ...report } = message;
      this.lastMemory = report;
      this.log.debug({ reason: "memory_report", ...report }, "engine memory report");
      this.emit("memory", report);
    }
  }
}

/** `exit code 3`, or `killed by SIGKILL, exit code 137` for the 128 + signal codes links report. */
function describeExit(code: number | null): string {
  const signal = code !== null && code > 128 ? Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0] : undefined;
  return signal ? `killed by ${signal}, exit code ${code}` : `exit code ${code}`;
}
