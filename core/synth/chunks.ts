/**
 * What the pipeline does with an engine's chunks and errors: a chunk checked against the
 * engine contract, a typed engine error as the catalogue's, and the first chunk (read early,
 * so that errors before any audio are a status code) put back in front of the rest.
 */
import { ChorusError } from "../errors.ts";
import { isMemoryExceeded } from "../registry/memory-error.ts";
import { BadOptionError, EngineError, type AudioChunk } from "../../packages/sdk/src/index.ts";

/** A chunk as the engine contract promises it (mono Int16 PCM at a real rate), or a 502. */
export function checkedChunk(chunk: AudioChunk, engineId: string): AudioChunk {
  const rate = chunk?.sampleRate;
  if (!Number.isInteger(rate) || rate < 1000 || rate > 384_000) {
    throw new ChorusError("CHORUS_ERR_ENGINE_FAILED", `engine '${engineId}' returned audio with an invalid sample rate (${String(rate)})`);
  }
  if (!(chunk.samples instanceof Int16Array)) throw new ChorusError("CHORUS_ERR_ENGINE_FAILED", `engine '${engineId}' returned audio that is not Int16 PCM`);
  return chunk;
}

/** An engine's typed error as the catalogue error a client should see. */
export function fromEngineError(err: unknown, engineId: string, voice: string): unknown {
  if (!(err instanceof EngineError)) return err;
  switch (err.code) {
    case "ENGINE_ABORTED":
      return err;
    case "ENGINE_OUT_OF_MEMORY":
      if (isMemoryExceeded(err)) return new ChorusError("CHORUS_ERR_ENGINE_MEMORY", err.message, { cause: err });
      return new ChorusError("CHORUS_ERR_ENGINE_FAILED", `engine '${engineId}' failed: ${err.message}`, { cause: err });
    case "ENGINE_VOICE_NOT_FOUND":
      return new ChorusError("CHORUS_ERR_VOICE_NOT_FOUND", `engine '${engineId}' has no voice '${voice}'`, { field: "voice", cause: err });
    case "ENGINE_BAD_OPTION": {
      const field = err instanceof BadOptionError && err.option ? `options.${err.option}` : "options";
      return new ChorusError("CHORUS_ERR_REQUEST_INVALID", err.message, { field, cause: err });
    }
    default:
      return new ChorusError("CHORUS_ERR_ENGINE_FAILED", `engine '${engineId}' failed: ${err.message}`, { cause: err });
  }
}

/**
 * The first chunk, then the rest. A generator's `return()` before its first read would skip
 * its `finally`, so `return()` here always closes `rest` (which ends the lease).
 */
export function withFirst(first: AudioChunk, rest: AsyncGenerator<AudioChunk>): AsyncGenerator<AudioChunk> {
  async function* body(): AsyncGenerator<AudioChunk> {
    yield first;
    yield* rest;
  }
  const inner = body();
  const innerReturn = inner.return.bind(inner);
  const close = async () => {
    await innerReturn(undefined);
    await rest.return(undefined);
  };
  return Object.assign(inner, {
    return: async (value?: unknown) => {
      await close();
      return { done: true as const, value: value as AudioChunk };
    },
    throw: async (err?: unknown) => {
      await close();
      throw err;
    },
  });
}
