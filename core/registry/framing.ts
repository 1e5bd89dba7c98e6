/**
 * The framing of the engine protocol on a byte stream (a child process's fd 3, see
 * docs/protocol.md): a header of one line of UTF-8 JSON ended by "\n", then, when the header
 * has `payloadLength: n` (n > 0), exactly n raw bytes. Used by both ends in Node.
 */

/** Longest header line, bytes (the "\n" not counted). */
export const MAX_HEADER_BYTES = 1024 * 1024;
/** Largest payload, bytes. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

export interface Frame {
  header: Record<string, unknown>;
  payload?: Buffer;
}

/** One frame as the buffers to write: the header line, then the payload (if any). */
export function encodeFrame(header: Record<string, unknown>, payload?: Uint8Array): Buffer[] {
  const withLength = payload && payload.byteLength > 0 ? { ...header, payloadLength: payload.byteLength } : header;
  // JSON.stringify never emits a raw newline (they are escaped inside strings).
  const line = Buffer.from(`${JSON.stringify(withLength)}\n`, "utf8");
  if (line.length - 1 > MAX_HEADER_BYTES) throw new ProtocolError(`header of ${line.length - 1} bytes exceeds ${MAX_HEADER_BYTES}`);
  if (!payload || payload.byteLength === 0) return [line];
  if (payload.byteLength > MAX_PAYLOAD_BYTES) throw new ProtocolError(`payload of ${payload.byteLength} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  return [line, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)];
}

/**
 * Incremental decoder: `push` the bytes as they arrive, get the complete frames back.
 * Throws ProtocolError on a violation (the stream is unusable after that).
 */
export class FrameDecoder {
  private buffered: Buffer[] = [];
  private size = 0;
  /** Set while the payload of this header is awaited. */
  private header: Record<string, unknown> | undefined;
  private payloadLength = 0;

  push(data: Buffer): Frame[] {
    this.buffered.push(data);
    this.size += data.length;
    const frames: Frame[] = [];
    for (;;) {
      if (!this.header) {
        const line = this.takeLine();
        if (line === undefined) break;
        this.header = parseHeader(line);
        const n = this.header.payloadLength ?? 0;
        if (typeof n !== "number" || !Number.isInteger(n) || n < 0)
          throw new ProtocolError(`payloadLength must be a non-negative integer, got ${JSON.stringify(n)}`);
        if (n > MAX_PAYLOAD_BYTES) throw new ProtocolError(`payload of ${n} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
        this.payloadLength = n;
      }
      if (this.size < this.payloadLength) break;
      const payload = this.payloadLength > 0 ? this.take(this.payloadLength) : undefined;
      frames.push({ header: this.header, payload });
      this.header = undefined;
      this.payloadLength = 0;
    }
    return frames;
  }

  /** The next complete line (without "\n"), if buffered. */
  private takeLine(): Buffer | undefined {
    let offset = 0;
    for (const chunk of this.buffered) {
      const at = chunk.indexOf(10);
      if (at >= 0) {
        if (offset + at > MAX_HEADER_BYTES) throw new ProtocolError(`header line longer than ${MAX_HEADER_BYTES} bytes`);
        const line = this.take(offset + at + 1);
        return line.subarray(0, line.length - 1);
      }
      offset += chunk.length;
    }
    if (this.size > MAX_HEADER_BYTES) throw new ProtocolError(`header line longer than ${MAX_HEADER_BYTES} bytes`);
    return undefined;
  }

  /** Removes and returns the first n buffered bytes (in a buffer of their own). */
  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.size);
    // A copy: the payload must own its (aligned) memory, not a slice of a larger read buffer.
    const out = Buffer.alloc(n);
    all.copy(out, 0, 0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.size = rest.length;
    return out;
  }
}

function parseHeader(line: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line.toString("utf8"));
  } catch (err) {
    throw new ProtocolError(`header is not JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new ProtocolError("header must be a JSON object");
  if (typeof (value as { type?: unknown }).type !== "string") throw new ProtocolError("header has no string 'type'");
  return value as Record<string, unknown>;
}

/** PCM payload (s16le) as samples in memory of their own. */
export function payloadToSamples(payload: Buffer | undefined): Int16Array {
  if (!payload) return new Int16Array(0);
  if (payload.length % 2) throw new ProtocolError(`PCM payload has an odd length (${payload.length})`);
  // `payload` owns a fresh ArrayBuffer from FrameDecoder.take (offset 0), so this views it without a copy.
  const samples = new Int16Array(payload.buffer, payload.byteOffset, payload.length / 2);
  if (!LITTLE_ENDIAN) swapBytes(samples);
  return samples;
}

/** Samples as a little-endian payload. */
export function samplesToPayload(samples: Int16Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  const copy = new Int16Array(samples);
  swapBytes(copy);
  return new Uint8Array(copy.buffer);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytes(samples: Int16Array): void {
  for (let i = 0; i < samples.length; i++) samples[i] = ((samples[i]! & 0xff) << 8) | ((samples[i]! >> 8) & 0xff);
}
