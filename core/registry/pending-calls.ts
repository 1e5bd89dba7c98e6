/**
 * The calls in flight to one engine worker, by message id: answers, errors and streamed
 * chunks from the worker are routed to their caller; a dead worker fails them all.
 */
import type { AudioChunk } from "../../packages/sdk/src/index.ts";
import { EngineError } from "../../packages/sdk/src/index.ts";
import type { EngineToHost } from "./protocol.ts";
import { fromWireError } from "./wire-errors.ts";

export interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  onChunk?(chunk: AudioChunk): void;
}

export class PendingCalls extends Map<number, Pending> {
  /** Routes one answer from the worker; returns false for messages that are not answers. */
  route(message: EngineToHost): boolean {
    switch (message.type) {
      case "result":
      case "pong": {
        const p = this.get(message.id);
        this.delete(message.id);
        p?.resolve(message.type === "result" ? message.value : undefined);
        return true;
      }
      case "error": {
        const p = this.get(message.id);
        this.delete(message.id);
        p?.reject(fromWireError(message.error));
        return true;
      }
      case "chunk":
        this.get(message.id)?.onChunk?.({ sampleRate: message.sampleRate, samples: message.samples });
        return true;
      default:
        return false;
    }
  }

  /** Fails every call: the worker is gone (`error` makes each call's error instead; `cause` says how it went). */
  failAll(reason: string, error?: () => Error, cause: LossCause = "crash"): void {
    for (const [id, p] of this) {
      this.delete(id);
      p.reject(error ? error() : workerLost(new EngineError("ENGINE_FAILED", reason), cause));
    }
  }
}

const LOST = Symbol.for("chorus.workerLost");

/** How a worker was lost: it died (`crash`: exit, kill, restart failure) or stopped answering and was killed (`hang`). */
export type LossCause = "crash" | "hang";

/** Marks an error as "the engine's worker died or is gone" (the pipeline resumes such calls). */
export function workerLost<E extends Error>(err: E, cause: LossCause = "crash"): E {
  (err as unknown as Record<symbol, LossCause>)[LOST] = cause;
  return err;
}

/** Did the call fail because its worker died or hung (crash, kill, restart failure), not the engine itself? */
export function isWorkerLost(err: unknown): boolean {
  return lossCause(err) !== undefined;
}

/** How the call's worker was lost, or undefined when it was not. */
export function lossCause(err: unknown): LossCause | undefined {
  return err instanceof Error ? (err as unknown as Record<symbol, LossCause | undefined>)[LOST] : undefined;
}
