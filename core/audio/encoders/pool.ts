/**
 * In-process encoding off the event loop: a small pool of long-lived worker threads
 * (encode.worker.mjs) shared by every response. A stream is pinned to the least busy worker;
 * each PCM chunk is copied once into a transferable buffer and the encoded bytes come back
 * transferred, one chunk in flight per stream (bounded memory; the pipeline keeps producing
 * meanwhile); a stream's first slice travels alone (see pooledEncode). Workers are started
 * on first use, reused for every later stream, and keep the process alive only while they
 * have streams.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import { EncoderError } from "./ffmpeg.ts";

export type PooledFormat = "mp3" | "opus";

interface Answer {
  id: number;
  bytes: Uint8Array;
  threadId: number;
  done?: boolean;
  /** An open answered by an encoder configured ahead (mp3). */
  prepared?: boolean;
  error?: string;
}

interface PoolWorker {
  worker: Worker;
  active: number;
  /** Per stream, the answers still due, in order (the worker answers each message in turn). */
  waiting: Map<number, ((answer: Answer) => void)[]>;
}

/**
 * Counters for tests and diagnostics: workers started, streams served, opens that found an
 * encoder configured ahead, PCM slices posted to a worker, first slices sent alone.
 */
export const poolStats = { workersStarted: 0, streamsServed: 0, preparedOpens: 0, slicesPosted: 0, firstSlicesAlone: 0, threadIds: new Set<number>() };

let workers: PoolWorker[] = [];
/**
 * Samples per message to a worker. The stream's first slice is short (0.09 s at 22.05 kHz,
 * 0.27 ms of LAME: two or three mp3 frames, four opus frames; LAME's first frame needs 1,024
 * samples at rates up to 24 kHz, 1,536 above), so its first bytes come after that much
 * encoding; later ones are longer (0.74 s), so a response is a few messages and socket
 * writes, not one per 0.09 s (each costs the event loop; the load bench's mp3 throughput).
 */
export const FIRST_SLICE = 2048;
export const SLICE = 16384;
let nextId = 1;

/** Pool size: one worker per spare core, at least 1, at most 4 (`CHORUS_ENCODER_THREADS`). */
export function poolSize(): number {
  const fromEnv = Number(process.env.CHORUS_ENCODER_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4, cores - 1));
}

function startWorker(): PoolWorker {
  // libopus as WebAssembly: the package's native addon crashes the process when a thread ends.
  const worker = new Worker(new URL("./encode.worker.mjs", import.meta.url), { env: { ...process.env, OPUS_FORCE_WASM: "1" } });
  const entry: PoolWorker = { worker, active: 0, waiting: new Map() };
  worker.on("message", (m: Answer) => {
    poolStats.threadIds.add(m.threadId);
    if (m.prepared) poolStats.preparedOpens++;
    const queue = entry.waiting.get(m.id);
    const resolve = queue?.shift();
    if (queue && !queue.length) entry.waiting.delete(m.id);
    resolve?.(m);
  });
  const fail = (err: Error) => {
    workers = workers.filter((w) => w !== entry);
    for (const queue of entry.waiting.values()) for (const resolve of queue) resolve({ id: 0, bytes: new Uint8Array(0), threadId: 0, error: err.message });
    entry.waiting.clear();
  };
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`encoder thread exited (${code})`)));
  // Held only while it has streams (pooledEncode): after the listeners, since a "message"
  // listener added later refs the thread's port again (a process that had encoded one mp3
  // then never exited by itself).
  worker.unref();
  poolStats.workersStarted++;
  return entry;
}

function pick(): PoolWorker {
  if (workers.length < poolSize()) {
    const idle = workers.find((w) => w.active === 0);
    if (idle) return idle;
    const fresh = startWorker();
    workers.push(fresh);
    return fresh;
  }
  return workers.reduce((best, w) => (w.active < best.active ? w : best));
}

function ask(entry: PoolWorker, id: number, message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Answer> {
  return new Promise((resolve) => {
    const queue = entry.waiting.get(id);
    if (queue) queue.push(resolve);
    else entry.waiting.set(id, [resolve]);
    entry.worker.postMessage({ id, ...message }, transfer);
  });
}

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Encodes mono s16 PCM at `sampleRate` into mp3 or Ogg Opus on a pool thread, yielding bytes
 * as they come; `streamed`: a client waits for the first of them (see the first slice below).
 */
export async function* pooledEncode(
  format: PooledFormat,
  sampleRate: number,
  pcm: AsyncIterable<Int16Array>,
  kbps?: number,
  streamed = false,
): AsyncGenerator<Buffer> {
  const entry = pick();
  const id = nextId++;
  if (entry.active++ === 0) entry.worker.ref(); // the answers awaited keep the process alive
  poolStats.streamsServed++;
  const input = pcm[Symbol.asyncIterator]();
  let ended = false;
  let inputDone = false;
  const check = (a: Answer): Uint8Array => {
    if (a.error) throw new EncoderError(`${format} encoder failed: ${a.error}`);
    return a.bytes;
  };
  try {
    // Posted now, answered when the worker gets to it: the first chunk is read meanwhile and
    // its slices queue right behind (no round trip before the first audio).
    let opening: Promise<Answer> | undefined = ask(entry, id, { op: "open", format, rate: sampleRate, kbps });
    const opened = async function* () {
      if (!opening) return;
      const head = check(await opening);
      opening = undefined;
      if (head.byteLength) yield asBuffer(head);
    };
    const post = (samples: Int16Array): Promise<Answer> => {
      const copy = samples.slice(); // the one copy: ours to transfer
      poolStats.slicesPosted++;
      return ask(entry, id, { op: "data", pcm: copy }, [copy.buffer]);
    };
    let first = true;
    for (;;) {
      const next = await input.next();
      if (next.done) break;
      const chunk = next.value;
      let at = 0;
      const answers: Promise<Answer>[] = [];
      if (first && chunk.length) {
        first = false;
        at = Math.min(chunk.length, FIRST_SLICE);
        const answer = post(chunk.subarray(0, at));
        // A streamed response's first slice goes alone when the thread has no other stream,
        // and its bytes are handed on (to the socket) before the rest of the chunk is posted:
        // the thread is then idle when it answers, so the event loop's thread wakes on the
        // core it leaves. With the rest queued behind, the thread went on encoding, and on 2
        // cores the event loop's thread waited for a core behind it and the engine: the first
        // answer was read 1.0-2.0 ms (median; p90 3-15 ms) after it was sent, against 0.1 ms
        // now. A whole file, or a thread busy with other streams anyway, would only lose the
        // round trip (closed-loop throughput): there the rest follows at once.
        if (streamed && entry.active === 1) {
          poolStats.firstSlicesAlone++;
          yield* opened();
          const bytes = check(await answer);
          if (bytes.byteLength) yield asBuffer(bytes);
        } else answers.push(answer);
      }
      // The rest of a long chunk (a sentence) goes in slices, all posted at once: encoded
      // frames come back after one slice's work instead of the whole sentence's.
      for (; at < chunk.length; at += SLICE) answers.push(post(chunk.subarray(at, at + SLICE)));
      yield* opened();
      for (const answer of answers) {
        const bytes = check(await answer);
        if (bytes.byteLength) yield asBuffer(bytes);
      }
    }
    yield* opened();
    inputDone = true;
    const tail = check(await ask(entry, id, { op: "end" }));
    ended = true;
    if (tail.byteLength) yield asBuffer(tail);
  } finally {
    if (--entry.active === 0) entry.worker.unref();
    if (!ended) {
      entry.worker.postMessage({ id, op: "close" });
      // Awaited, as in ffmpeg.ts: the input's lease is back before the caller sees the end.
      if (!inputDone) await Promise.resolve(input.return?.()).catch(() => undefined);
    }
  }
}

/** Starts the pool's first thread and has it load its encoders, for a server that is starting. */
export function warmPool(): void {
  if (workers.length) return;
  const entry = startWorker();
  workers.push(entry);
  entry.worker.postMessage({ op: "warm", id: 0 });
}

/** Ends the pool's threads (tests; a server lets them die with the process). */
export async function closeEncoderPool(): Promise<void> {
  const all = workers;
  workers = [];
  await Promise.all(all.map((w) => w.worker.terminate()));
}
