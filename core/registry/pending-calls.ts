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

  /** Fails every call: the worker is gone (`error` makes each call's error instead). */
  failAll(reason: string, error?: () => Error): void {
    for (const [id, p] of this) {
      this.delete(id);
      p.reject(error ? error() : workerLost(new EngineError("ENGINE_FAILED", reason)));
    }
  }
}

const LOST = Symbol.for("chorus.workerLost");

/** Marks an error as "the engine's worker died or is gone" (the pipeline resumes such calls). */
export function workerLost<E extends Error>(err: E): E {
  (err as unknown as Record<symbol, boolean>)[LOST] = true;
  return err;
}

/** Did the call fail because its worker died (crash, kill, restart failure), not the engine itself? */
export function isWorkerLost(err: unknown): boolean {
  return err instanceof Error && (err as unknown as Record<symbol, boolean>)[LOST] === true;
}
