/**
 * Host side of one engine instance: owns its worker thread (or child process), forwards calls
 * as messages, turns streamed chunks back into an async iterable and carries cancellation.
 * A crash of the worker fails every call in flight with a clear error; the host survives.
 */
import { fork, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { AudioChunk, EngineHealth, LoadContext, SynthesisRequest, Voice } from "../sdk/engine.ts";
import type { Manifest } from "../sdk/manifest.ts";
import { AbortError, EngineError, deserializeError } from "../sdk/errors.ts";
import type { EngineBootData, EngineToHost, HostToEngine } from "./protocol.ts";

const BOOT_SCRIPT = new URL("./boot.mjs", import.meta.url);

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  onChunk?(chunk: AudioChunk): void;
}

export interface EngineHostOptions {
  manifest: Manifest;
  pluginDir: string;
  log: Logger;
  /** How long creating the engine (importing its code) may take. */
  bootTimeoutMs?: number;
}

export class EngineHost extends EventEmitter {
  readonly manifest: Manifest;
  private readonly log: Logger;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private worker?: Worker;
  private child?: ChildProcess;
  private exited = false;
  private readonly options: EngineHostOptions;

  constructor(options: EngineHostOptions) {
    super();
    this.options = options;
    this.manifest = options.manifest;
    this.log = options.log;
  }

  /** Spawns the worker and creates the engine in it. Rejects if the plugin fails to boot. */
  start(): Promise<void> {
    const boot: EngineBootData = {
      manifest: this.manifest,
      pluginDir: this.options.pluginDir,
      entryUrl: pathToFileURL(path.resolve(this.options.pluginDir, this.manifest.entry)).href,
    };
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new EngineError("ENGINE_FAILED", `plugin did not start within ${this.bootTimeoutMs} ms`));
        void this.terminate();
      }, this.bootTimeoutMs);
      const onMessage = (message: EngineToHost) => {
        if (message.type === "ready") {
          clearTimeout(timer);
          resolve();
        } else if (message.type === "boot-failed") {
          clearTimeout(timer);
          reject(deserializeError(message.error));
          void this.terminate();
        } else {
          this.handle(message);
        }
      };
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        this.exited = true;
        reject(new EngineError("ENGINE_FAILED", `engine worker exited with code ${code} while starting`));
        this.failAll(`engine worker exited (code ${code})`);
        this.emit("exit", code);
      };
      if (this.manifest.isolation === "process") {
        const child = fork(BOOT_SCRIPT, [JSON.stringify(boot)], {
          serialization: "advanced",
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        this.child = child;
        child.on("message", (m) => onMessage(m as EngineToHost));
        child.on("exit", (code) => onExit(code));
        child.on("error", (err) => this.log.error({ err }, "engine process error"));
      } else {
        const worker = new Worker(BOOT_SCRIPT, { workerData: boot, stdout: false, stderr: false });
        this.worker = worker;
        worker.on("message", onMessage);
        worker.on("error", (err) => this.log.error({ err }, "engine worker error"));
        worker.on("exit", onExit);
      }
    });
  }

  private get bootTimeoutMs(): number {
    return this.options.bootTimeoutMs ?? 30_000;
  }

  get alive(): boolean {
    return !this.exited;
  }

  load(context: Omit<LoadContext, "log">): Promise<void> {
    return this.call({ type: "load", context }) as Promise<void>;
  }

  unload(): Promise<void> {
    return this.call({ type: "unload" }) as Promise<void>;
  }

  listVoices(): Promise<Voice[]> {
    return this.call({ type: "voices" }) as Promise<Voice[]>;
  }

  health(): Promise<EngineHealth> {
    return this.call({ type: "health" }) as Promise<EngineHealth>;
  }

  /** Streams the engine's chunks; aborting `signal` cancels the work inside the engine. */
  async *synthesize(request: SynthesisRequest, signal: AbortSignal): AsyncGenerator<AudioChunk> {
    if (signal.aborted) throw new AbortError();
    const queue: AudioChunk[] = [];
    let done = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const id = this.nextId++;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    this.pending.set(id, {
      resolve: () => {
        done = true;
        notify();
      },
      reject: (err) => {
        failure = err;
        notify();
      },
      onChunk: (chunk) => {
        queue.push(chunk);
        notify();
      },
    });
    const onAbort = () => {
      this.post({ type: "abort", id });
      failure ??= new AbortError();
      notify();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      this.post({ type: "synthesize", id, request });
      for (;;) {
        if (queue.length) {
          yield queue.shift()!;
          continue;
        }
        if (failure) throw failure;
        if (done) return;
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      // A consumer that stops early (e.g. the client went away) cancels the engine's work.
      if (!done && !failure) this.post({ type: "abort", id });
      this.pending.delete(id);
    }
  }

  /** Stops the worker at once; calls in flight fail. */
  async terminate(): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    this.failAll("engine stopped");
    if (this.worker) await this.worker.terminate();
    if (this.child && this.child.exitCode === null) this.child.kill("SIGKILL");
  }

  private call(message: DistributiveOmit<HostToEngine, "id">): Promise<unknown> {
    if (this.exited) return Promise.reject(new EngineError("ENGINE_FAILED", "engine worker is not running"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ ...message, id } as HostToEngine);
    });
  }

  private post(message: HostToEngine): void {
    if (this.exited) return;
    if (this.worker) this.worker.postMessage(message);
    else this.child?.send(message);
  }

  private handle(message: EngineToHost): void {
    switch (message.type) {
      case "result": {
        const p = this.pending.get(message.id);
        this.pending.delete(message.id);
        p?.resolve(message.value);
        break;
      }
      case "error": {
        const p = this.pending.get(message.id);
        this.pending.delete(message.id);
        p?.reject(deserializeError(message.error));
        break;
      }
      case "chunk":
        this.pending.get(message.id)?.onChunk?.({ sampleRate: message.sampleRate, samples: message.samples });
        break;
      case "log":
        this.log[message.level](message.extra ?? {}, message.msg);
        break;
      default:
        break;
    }
  }

  private failAll(reason: string): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new EngineError("ENGINE_FAILED", reason));
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
