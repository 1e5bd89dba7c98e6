/**
 * `chorus say`'s progress on a terminal: the seconds of audio made so far, summed from the
 * chunks themselves. The pipeline reports no sentence boundaries with its chunks (an engine
 * may make one chunk or many per sentence, and the short first chunk and the rest of its
 * sentence are one turn: core/text/first-chunk.ts), so a sentence count cannot be told from them.
 */
import type { AudioChunk } from "../../packages/sdk/src/index.ts";

/** `chunks`, passed on unchanged, with `\r<seconds> s of audio` written after each from the second on (a line end once done). */
export async function* withProgress(chunks: AsyncIterable<AudioChunk>, write: (text: string) => void): AsyncGenerator<AudioChunk> {
  let seconds = 0;
  let count = 0;
  try {
    for await (const chunk of chunks) {
      seconds += chunk.samples.length / chunk.sampleRate;
      // One chunk is a short text: the "wrote" line says it all.
      if (++count > 1) write(`\r${seconds.toFixed(1)} s of audio`);
      yield chunk;
    }
  } finally {
    if (count > 1) write("\n");
  }
}
