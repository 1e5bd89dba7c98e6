/** Sends a pipeline's speech as an encoded, chunked audio body or as OpenAI SSE events. */
import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import { streamAudio, type AudioFormat } from "../../audio/output/index.ts";
import type { SpeechStream } from "../../synth/pipeline.ts";
import { primed } from "../primed.ts";
import { ChorusError } from "../../errors.ts";
import { renderOpenAIError, type OpenAIErrorBody } from "./errors.ts";
import { logError, loggingFailure, toChorusError } from "../errors.ts";

/**
 * Streams `speech` encoded as `format`; for pcm, at `pcmRate` when given. The first encoded
 * bytes are awaited before the audio headers are set (see primed.ts).
 */
export async function sendAudio(reply: FastifyReply, speech: SpeechStream, format: AudioFormat, pcmRate: number | null): Promise<FastifyReply> {
  const out = streamAudio(speech, { format, sampleRate: format === "pcm" && pcmRate ? pcmRate : undefined });
  // logged only once it is under way: a failure before the first byte is the route's error, logged as such
  const audio = loggingFailure(await primed(out.body), reply.log);
  void reply.header("X-Sample-Rate", String(out.sampleRate));
  void reply.type(out.contentType);
  return reply.send(Readable.from(audio));
}

/**
 * `stream_format: "sse"`: `speech.audio.delta` events carrying base64 audio as it is encoded,
 * then `speech.audio.done` with a usage estimate. Each event is one `data:` line of JSON.
 */
export async function sendSse(
  reply: FastifyReply,
  speech: SpeechStream,
  format: AudioFormat,
  pcmRate: number | null,
  inputChars: number,
): Promise<FastifyReply> {
  const out = streamAudio(speech, { format, sampleRate: format === "pcm" && pcmRate ? pcmRate : undefined });
  async function* events() {
    let bytes = 0;
    try {
      for await (const audio of out.body) {
        bytes += audio.length;
        yield `data: ${JSON.stringify({ type: "speech.audio.delta", audio: audio.toString("base64") })}\n\n`;
      }
    } catch (err) {
      // After the first event the status is sent: the failure is an event, never a silent end.
      if (!bytes) throw err;
      logError(reply.log, toChorusError(err), err);
      yield sseError(err);
      return;
    }
    const inputTokens = Math.ceil(inputChars / 4);
    const outputTokens = Math.ceil(bytes / 64);
    yield `data: ${JSON.stringify({ type: "speech.audio.done", usage: { input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens } })}\n\n`;
  }
  const stream = await primed(events());
  void reply.header("X-Sample-Rate", String(out.sampleRate));
  void reply.header("Cache-Control", "no-cache");
  void reply.type("text/event-stream; charset=utf-8");
  return reply.send(Readable.from(stream, { objectMode: false }));
}

/**
 * An `error` event for a stream that failed after it began; no `done` follows. Its `error` is
 * the surface's error object (`{message, type, param, code}`, the code in OpenAI's words, as
 * in any other answer of this API).
 */
function sseError(err: unknown): string {
  const cause = err instanceof ChorusError ? err : new ChorusError("CHORUS_ERR_ENGINE_FAILED", err instanceof Error ? err.message : String(err));
  const { error } = renderOpenAIError(cause).body as OpenAIErrorBody;
  return `data: ${JSON.stringify({ type: "error", error: { ...error, message: `the stream ended early: ${error.message}` } })}\n\n`;
}
