/**
 * One copy of an engine instance: its worker thread (or child process) and that worker's
 * lifecycle. The calls themselves (time limits, synthesis streams with credits and
 * cancellation, the ping that finds a stuck worker) are engine-calls.ts. Failure containment
 * lives here: a worker that dies after its engine loaded is restarted with backoff and
 * reloaded with the same context. Calls in flight on a dead worker fail with ENGINE_FAILED,
 * marked as a lost worker (a crash, or a hang: a synthesis without audio for `chunkSeconds`
 * whose worker then misses a ping, `pingTimeoutMs`, is killed, engine-calls.ts), so the
 * pipeline can resume them; the host process is never at risk. An instance runs one replica,
 * or several for `parallelism: "replicas"` (engine-host.ts); each restarts on its own.
 */
import { EventEmitter } from "node:events";
import { pathToFileURL } from "node:url";
import path from "node:path";
import type { Logger } from "pino";
import type { AudioChunk, Manifest, MemoryReport, SynthesisRequest } from "../../packages/sdk/src/index.ts";
import { EngineError } from "../../packages/sdk/src/index.ts";
import { speaksMore, type EngineToHost, type WireLoadContext } from "./protocol.ts";
import { workerLost } from "./pending-calls.ts";
import { bootWorker, spawnProcessLink, type Link, type LinkLimits, type ProcessCommand, type RuntimeInfo } from "./worker-link.ts";
import { EngineCalls, type CallMessage } from "./engine-calls.ts";
import { linkLimits, memoryLimitMb, type MemoryPolicy } from "./memory-limit.ts";
import { memoryExceeded } from "./memory-error.ts";
import { RestartBackoff, type RestartPolicy } from "./restart-backoff.ts";
import { ExitNotes } from "./worker-exit.ts";

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
  /** Memory limit per plugin (memory-limit.ts, per replica); default policy when absent. */
  memory?: MemoryPolicy;
  /**
   * For `isolation: "process"`: the command that starts a runtime of another language (e.g.
   * the Python runtime) speaking the protocol on fd 3. Default: the Node runtime.
   */
  processCommand?: ProcessCommand;
}

type State = "new" | "starting" | "running" | "restarting" | "stopped";

/**
 * Events: "crash" (reason) when its worker died and a restart is scheduled; "restart" () when
 * it serves again; "exit" (code) when it is gone for good; "memory" (MemoryReport); "idle" ()
 * when a synthesis on it ended.
 */
export class EngineReplica extends EventEmitter {
  /** Times the worker was restarted after a crash. */
  restarts = 0;
  /** Synthesis streams running on it now (the host gives new ones to the least busy replica). */
  busy = 0;
  /** What the engine's runtime said at start (`ready`). */
  runtimeInfo?: RuntimeInfo;
  lastMemory?: MemoryReport;
  private readonly manifest: Manifest;
  private readonly backoff: RestartBackoff;
  private readonly calls: EngineCalls;
  private link?: Link;
  private state: State = "new";
  private loadContext?: WireLoadContext;
  private restartTimer?: NodeJS.Timeout;
  /** What the worker's exit is to be blamed on (a hang, its memory limit), worker-exit.ts. */
  private readonly notes = new ExitNotes();

  constructor(
    private readonly options: EngineHostOptions,
    private readonly log: Logger,
  ) {
    super();
    this.manifest = options.manifest;
    this.backoff = new RestartBackoff(options.restart);
    this.calls = new EngineCalls({
      log,
      link: () => this.link,
      speaksMore: () => speaksMore(this.runtimeInfo?.protocol),
      serving: () => this.whenServing(),
      pingTimeoutMs: options.pingTimeoutMs,
      hung: (note) => (this.notes.hang = note),
    });
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

  /** Its worker died and is being restarted (calls wait for it). */
  get restarting(): boolean {
    return this.state === "restarting";
  }

  /** Running and not under suspicion of hanging: a new call goes here without waiting. */
  get serving(): boolean {
    return this.state === "running" && !this.calls.probing;
  }

  async load(wire: WireLoadContext): Promise<void> {
    await this.call({ type: "load", context: wire }, this.seconds("loadSeconds"));
    this.loadContext = wire;
  }

  /** `request`, then each text of `more` with the same parameters (engine-calls.ts). */
  async *synthesize(request: SynthesisRequest, signal: AbortSignal, more: readonly string[] = []): AsyncGenerator<AudioChunk> {
    this.busy++;
    try {
      await this.whenServing();
      yield* this.calls.synthesize(request, signal, this.seconds("chunkSeconds"), more);
      this.backoff.healthy(); // a completed request shows the restarted worker is healthy
    } finally {
      this.busy--;
      this.emit("idle");
    }
  }

  async call(message: CallMessage, timeoutSeconds = this.seconds("chunkSeconds")): Promise<unknown> {
    await this.whenServing();
    return this.calls.send(message, timeoutSeconds);
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
    return linkLimits(this.manifest, this.options.memory);
  }

  private seconds(kind: "loadSeconds" | "chunkSeconds"): number {
    return this.manifest.timeouts?.[kind] ?? 120;
  }

  private async boot(): Promise<void> {
    this.notes.hang = undefined; // a note about the worker this boot replaces
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
          this.notes.memory = { detail, usedMb };
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
      const { reason, kind, memory } = this.notes.take(code);
      const limit = memory && { ...memoryLimitMb(this.manifest, this.options.memory), limitMb: this.limits().memoryMb };
      const memoryError = memory && limit ? () => memoryExceeded(this.manifest.id, memory.detail, limit, memory.usedMb) : undefined;
      this.calls.failAll(reason, memoryError, kind);
      this.log.error({ reason: kind === "hang" ? "worker_hang" : "worker_crash", code }, reason);
      this.emit("crash", reason);
      this.scheduleRestart(reason, code);
    } else if (this.state === "running" || this.state === "starting") {
      void this.stop(code);
    } else if (this.state === "restarting") {
      this.calls.failAll(`engine worker exited (code ${code}) while restarting`); // the reload in flight fails now
    }
  }

  private scheduleRestart(reason: string, code: number | null): void {
    const delay = this.backoff.next();
    if (delay === undefined) {
      const restarts = this.backoff.crashes - 1;
      this.log.error({ reason: "restart_limit", crashes: restarts }, "engine keeps crashing; giving up");
      void this.stop(code, new EngineError("ENGINE_FAILED", `engine gave up after ${restarts} restarts: ${reason}`));
      return;
    }
    this.state = "restarting";
    this.log.warn({ reason: "restart_scheduled", delayMs: delay, attempt: this.backoff.crashes }, "restarting engine worker");
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
    this.backoff.revive();
    this.log.info({ reason: "restarted", restarts: this.restarts }, "engine worker restarted");
    this.emit("restart");
  }

  private async stop(code: number | null, why = new EngineError("ENGINE_FAILED", "engine stopped")): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    clearTimeout(this.restartTimer);
    this.backoff.giveUp(workerLost(why));
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
    const revival = this.backoff.revival;
    if (this.state === "restarting" && revival) await revival;
    if (this.state === "stopped") throw workerLost(new EngineError("ENGINE_FAILED", "engine worker is not running"));
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
