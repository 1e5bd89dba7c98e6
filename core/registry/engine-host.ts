/**
 * Host side of one engine instance: one copy of the engine in its own worker thread (or child
 * process), or, for a CPU profile with `parallelism: "replicas"`, several copies side by side
 * (as many as the scheduler asks for at load, core/scheduler/replicas.ts). Each copy is an
 * EngineReplica (engine-replica.ts: its worker, restarts with backoff, calls that fail as a
 * lost worker when it dies, so the pipeline resumes them). A synthesis goes to the replica
 * with the fewest running now, among those that serve (one restarting or under suspicion of
 * hanging gets new calls only when none serves); with replicas each copy takes one synthesis
 * at a time (the engine need not be reentrant: a call beyond the copies, which the scheduler's
 * one lease per copy allows only while one restarts, waits here for a free copy). A crash of
 * one fails only its own calls and the others go on. A replica that gives up (its restart
 * limit) leaves the pool without touching the others' calls; the instance says it is
 * "degraded" (the scheduler retires it: its running requests finish on the copies left, the
 * next request loads a fresh instance) and ends with its last copy. Engine threads and
 * processes run at a lower CPU priority (priority.ts), each replica's own, so the event loop
 * is served first.
 */
import { EventEmitter } from "node:events";
import type { AudioChunk, EngineHealth, MemoryReport, SynthesisRequest, Voice } from "../../packages/sdk/src/index.ts";
import type { Manifest } from "../../packages/sdk/src/index.ts";
import { EngineError, SynthesisAbortedError } from "../../packages/sdk/src/index.ts";
import { MAX_CHUNK_BYTES, type HostLoadContext, type WireLoadContext } from "./protocol.ts";
import { workerLost } from "./pending-calls.ts";
import { EngineReplica, type EngineHostOptions } from "./engine-replica.ts";
import type { RuntimeInfo } from "./worker-link.ts";

export type { HostLoadContext } from "./protocol.ts";
export type { RestartPolicy } from "./restart-backoff.ts";
export type { EngineHostOptions } from "./engine-replica.ts";

/**
 * Events: "crash" (reason: string, replica: number) when a worker died and a restart is
 * scheduled; "restart" (replica: number) when it serves again; "degraded" (reason: string) when one of several copies gave up
 * and the others serve on; "exit" (code) when the instance is gone for good (stopped, or its
 * last copy gave up); "memory" (MemoryReport, summed over the live replicas) when the engine
 * reports what it holds.
 */
export class EngineHost extends EventEmitter {
  readonly manifest: Manifest;
  readonly generation: number;
  private readonly options: EngineHostOptions;
  private readonly replicas: EngineReplica[] = [];
  private stopped = false;
  /** shutdown() or terminate() was called: the first copy to go ends the instance. */
  private closing = false;
  /** `parallelism: "replicas"`: each copy takes one synthesis at a time (the engine is not reentrant). */
  private oneEach = false;
  /** Syntheses waiting for a copy that serves to be free (only while one restarts or is gone: the scheduler grants one lease per copy). */
  private readonly waiting = new Set<() => void>();

  constructor(options: EngineHostOptions) {
    super();
    this.options = options;
    this.manifest = options.manifest;
    this.generation = options.generation ?? 0;
    this.add();
  }

  /** Times a worker was restarted after a crash (all replicas). */
  get restarts(): number {
    return this.replicas.reduce((sum, r) => sum + r.restarts, 0);
  }

  /** What the engine's runtime said at start (`ready`): its SDK version and runtime. */
  get runtimeInfo(): RuntimeInfo | undefined {
    return this.replicas[0]?.runtimeInfo;
  }

  /** The engine's last own memory reading (`memory` message), summed over the replicas. */
  get lastMemory(): MemoryReport | undefined {
    const reports = this.replicas
      .filter((r) => r.alive)
      .map((r) => r.lastMemory)
      .filter((m): m is MemoryReport => m !== undefined);
    if (!reports.length) return undefined;
    const sum = (k: "vramMb" | "ramMb") => (reports.some((m) => m[k] !== undefined) ? reports.reduce((s, m) => s + (m[k] ?? 0), 0) : undefined);
    const out: MemoryReport = { ...reports.at(-1) };
    for (const k of ["vramMb", "ramMb"] as const) {
      const v = sum(k);
      if (v === undefined) delete out[k];
      else out[k] = v;
    }
    return out;
  }

  /** Copies of the engine this instance runs. */
  get replicaCount(): number {
    return this.replicas.length;
  }

  /** Synthesis streams running on each replica now. */
  get busy(): number[] {
    return this.replicas.map((r) => r.busy);
  }

  /** Spawns the (first) worker and creates the engine in it. Rejects if the plugin fails to boot. */
  async start(): Promise<void> {
    await this.replicas[0]!.start();
  }

  get alive(): boolean {
    return !this.stopped;
  }

  onExit(listener: (code: number | null) => void): void {
    this.once("exit", listener);
  }

  /** Loads the engine with `context` in `replicas` copies (the first is started already; the others start here). */
  async load(context: HostLoadContext, replicas = 1): Promise<void> {
    const wire: WireLoadContext = { ...context, profile: context.profile.name, maxChunkBytes: MAX_CHUNK_BYTES };
    this.oneEach = context.profile.parallelism === "replicas";
    const added: EngineReplica[] = [];
    while (this.replicas.length < replicas) added.push(this.add());
    await Promise.all(added.map((r) => r.start()));
    await Promise.all(this.replicas.map((r) => r.load(wire)));
  }

  /** Unloads the engine in every copy that serves; one being restarted is skipped (it has not reloaded, and it is stopped with the rest: an eviction never waits for its backoff). */
  async unload(): Promise<void> {
    await Promise.all(this.replicas.filter((r) => r.alive && !r.restarting).map((r) => r.call({ type: "unload" })));
  }

  async listVoices(): Promise<Voice[]> {
    return (await this.pick().call({ type: "voices" })) as Voice[];
  }

  /**
   * The engine's own health check; with replicas, every copy must be healthy. One restarting
   * or gone is said at once, not waited for; one busy synthesising is not asked (its thread is
   * blocked until the sentence ends; a stuck one is the hang probe's, engine-calls.ts).
   */
  async health(): Promise<EngineHealth> {
    if (this.replicas.length === 1) return (await this.pick().call({ type: "health" })) as EngineHealth;
    const ask = async (r: EngineReplica): Promise<EngineHealth> => {
      if (!r.alive) return { ok: false, detail: "gave up restarting" };
      if (r.restarting) return { ok: false, detail: "restarting after a crash" };
      if (this.oneEach && r.busy > 0) return { ok: true };
      return (await r.call({ type: "health" })) as EngineHealth;
    };
    const answers = await Promise.all(this.replicas.map(ask));
    const bad = answers.map((a, i) => ({ a, i })).filter(({ a }) => !a.ok);
    return bad.length ? { ok: false, detail: bad.map(({ a, i }) => `replica ${i + 1}: ${a.detail ?? "not ok"}`).join("; ") } : answers[0]!;
  }

  /** Streams the engine's chunks from the least busy replica; aborting `signal` cancels the work inside the engine. */
  synthesize(request: SynthesisRequest, signal: AbortSignal): AsyncGenerator<AudioChunk> {
    return this.synthesizeMore(request, [], signal);
  }

  /** `request.text`, then each of `more` with the same parameters, in one call to the engine (LeasedEngine). */
  async *synthesizeMore(request: SynthesisRequest, more: readonly string[], signal: AbortSignal): AsyncGenerator<AudioChunk> {
    if (signal.aborted) throw new SynthesisAbortedError();
    // chosen and marked busy in one synchronous step (replica.synthesize counts itself at once)
    let replica = this.oneEach ? this.idle() : this.pick();
    while (!replica) {
      await this.freed(signal);
      replica = this.idle();
    }
    yield* replica.synthesize(request, signal, more);
  }

  /** Asks the engine to exit (`shutdown`), killing it after a grace period; no restart follows. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.closing = true;
    await Promise.all(this.replicas.map((r) => r.shutdown()));
  }

  /** Stops the workers at once; calls in flight fail; no restart follows. */
  async terminate(): Promise<void> {
    if (this.stopped) return;
    this.closing = true;
    await Promise.all(this.replicas.map((r) => r.terminate()));
  }

  private add(): EngineReplica {
    const index = this.replicas.length;
    const log = index === 0 ? this.options.log : this.options.log.child({ replica: index + 1 });
    const replica = new EngineReplica(this.options, log);
    replica.on("crash", (reason: string) => this.emit("crash", reason, index));
    replica.on("restart", () => {
      this.emit("restart", index);
      this.wake(); // a waiting call may take the revived copy
    });
    replica.on("memory", () => this.emit("memory", this.lastMemory));
    replica.on("exit", (code: number | null) => void this.replicaGone(index, code));
    replica.on("idle", () => this.wake());
    this.replicas.push(replica);
    return replica;
  }

  /**
   * A replica is gone for good (stopped, or it gave up restarting). While others serve, only
   * it leaves (its own calls have failed as a lost worker; the others' go on) and the instance
   * is "degraded"; the instance ends when it is closing or this was its last copy.
   */
  private async replicaGone(index: number, code: number | null): Promise<void> {
    if (this.stopped) return;
    if (!this.closing && this.replicas.some((r) => r.alive)) {
      this.options.log.error({ reason: "replica_gave_up", replica: index + 1, code }, "an engine copy gave up restarting; the others serve on");
      this.wake(); // waiters choose among the copies left
      this.emit("degraded", `replica ${index + 1} of ${this.replicas.length} gave up restarting (exit code ${code})`);
      return;
    }
    this.stopped = true;
    this.wake(); // waiters find the instance gone
    await Promise.all(this.replicas.map((r) => r.terminate()));
    this.emit("exit", code);
  }

  /**
   * A copy with no synthesis running that serves now; or none, to wait until one is free or
   * revives (a restart may be a long backoff away, while a busy copy frees at its sentence's
   * end). Only when no copy serves at all does a free one that is restarting take the call.
   */
  private idle(): EngineReplica | undefined {
    if (this.stopped) return this.pick(); // throws: the instance is gone
    const alive = this.replicas.filter((r) => r.alive);
    const free = alive.filter((r) => r.busy === 0);
    return free.find((r) => r.serving) ?? (alive.some((r) => r.serving) ? undefined : free[0]);
  }

  /** Waits until a synthesis ends somewhere (or the instance goes, or `signal` aborts). */
  private async freed(signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        this.waiting.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.waiting.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
    if (signal.aborted) throw new SynthesisAbortedError();
  }

  private wake(): void {
    for (const done of [...this.waiting]) done();
  }

  /** The replica for a new call: the least busy that serves; else (all restarting) the least busy still alive. */
  private pick(): EngineReplica {
    const alive = this.replicas.filter((r) => r.alive);
    if (this.stopped || !alive.length) throw workerLost(new EngineError("ENGINE_FAILED", "engine worker is not running"));
    const serving = alive.filter((r) => r.serving);
    return (serving.length ? serving : alive).reduce((best, r) => (r.busy < best.busy ? r : best));
  }
}
