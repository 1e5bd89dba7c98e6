/**
 * Wyoming framing: a header line of UTF-8 JSON (`type`, optional inline `data`, `data_length`,
 * `payload_length`) ending in `\n`, then `data_length` bytes of JSON merged over the inline
 * `data`, then `payload_length` raw bytes. The reader is incremental and bounded: a header line,
 * a data block or a payload over its limit is a protocol error, never a growing buffer.
 */

export interface WyomingEvent {
  type: string;
  data: Record<string, unknown>;
  payload?: Buffer;
}

export interface FrameLimits {
  maxHeaderBytes: number;
  maxDataBytes: number;
  maxPayloadBytes: number;
}

/** A frame the reader cannot accept; the connection it came on cannot be trusted further. */
export class FrameError extends Error {
  constructor(
    readonly code: "CHORUS_ERR_REQUEST_MALFORMED" | "CHORUS_ERR_REQUEST_TOO_LARGE",
    message: string,
  ) {
    super(message);
    this.name = "FrameError";
  }
}

/** The library version the Python writer puts in every header; ours says which protocol we follow. */
export const PROTOCOL_VERSION = "1.8.0";

/**
 * Serialises an event the way the Python library writes it: `data` in its own block with
 * `data_length` (omitted when empty), `payload_length` only with a payload.
 */
export function encodeEvent(type: string, data: Record<string, unknown> = {}, payload?: Uint8Array): Buffer {
  const header: Record<string, unknown> = { type, version: PROTOCOL_VERSION };
  const dataBytes = Object.keys(data).length ? Buffer.from(JSON.stringify(data), "utf8") : undefined;
  if (dataBytes) header.data_length = dataBytes.length;
  if (payload?.byteLength) header.payload_length = payload.byteLength;
  const parts: Buffer[] = [Buffer.from(`${JSON.stringify(header)}\n`, "utf8")];
  if (dataBytes) parts.push(dataBytes);
  if (payload?.byteLength) parts.push(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  return Buffer.concat(parts);
}

type Stage = { kind: "header" } | { kind: "data"; event: WyomingEvent; need: number; payload: number } | { kind: "payload"; event: WyomingEvent; need: number };

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function length(header: Record<string, unknown>, key: string, max: number): number {
  const value = header[key];
  if (value === undefined || value === null) return 0;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new FrameError("CHORUS_ERR_REQUEST_MALFORMED", `${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  if (value > max) throw new FrameError("CHORUS_ERR_REQUEST_TOO_LARGE", `${key} is ${value} bytes; the limit is ${max}`);
  return value;
}

/** Feeds bytes in with `push`, returns the events they completed. Throws FrameError. */
export class FrameReader {
  private buffered: Buffer[] = [];
  private size = 0;
  private stage: Stage = { kind: "header" };

  constructor(private readonly limits: FrameLimits) {}

  /** Bytes received but not yet part of a complete event. */
  get pending(): number {
    return this.size;
  }

  /** True between events (nothing half-read): an EOF here is a clean end. */
  get idle(): boolean {
    return this.stage.kind === "header" && this.size === 0;
  }

  push(chunk: Buffer): WyomingEvent[] {
    this.buffered.push(chunk);
    this.size += chunk.length;
    const events: WyomingEvent[] = [];
    for (;;) {
      const event = this.step();
      if (event === undefined) break;
      if (event !== null) events.push(event);
    }
    return events;
  }

  /** One stage forward: an event, null (progress without an event) or undefined (needs bytes). */
  private step(): WyomingEvent | null | undefined {
    const stage = this.stage;
    if (stage.kind === "header") {
      const all = this.joined();
      const newline = all.indexOf(0x0a);
      if (newline < 0) {
        if (all.length > this.limits.maxHeaderBytes)
          throw new FrameError("CHORUS_ERR_REQUEST_TOO_LARGE", `header line over ${this.limits.maxHeaderBytes} bytes without a newline`);
        return undefined;
      }
      if (newline > this.limits.maxHeaderBytes)
        throw new FrameError("CHORUS_ERR_REQUEST_TOO_LARGE", `header line is ${newline} bytes; the limit is ${this.limits.maxHeaderBytes}`);
      const line = all.subarray(0, newline).toString("utf8").trim();
      this.consume(newline + 1);
      if (!line) return null; // a blank line between events: tolerated
      let header: unknown;
      try {
        header = JSON.parse(line);
      } catch {
        throw new FrameError("CHORUS_ERR_REQUEST_MALFORMED", "the header line is not valid JSON");
      }
      if (!isObject(header)) throw new FrameError("CHORUS_ERR_REQUEST_MALFORMED", "the header line must be a JSON object");
      if (typeof header.type !== "string" || !header.type) throw new FrameError("CHORUS_ERR_REQUEST_MALFORMED", "the header has no 'type' string");
      if (header.data !== undefined && header.data !== null && !isObject(header.data))
        throw new FrameError("CHORUS_ERR_REQUEST_MALFORMED", "'data' must be a JSON object");
      const event: WyomingEvent = { type: header.type, data: isObject(header.data) ? { ...header.data } : {} };
      const dataLength = length(header, "data_length", this.limits.maxDataBytes);
      const payloadLength = length(header, "payload_length", this.limits.maxPayloadBytes);
      if (dataLength > 0) this.stage = { kind: "data", event, need: dataLength, payload: payloadLength };
      else if (payloadLength > 0) this.stage = { kind: "payload", event, need: payloadLength };
      else return event;
      return null;
    }
    if (this.size < stage.need) return undefined;
    const bytes = this.take(stage.need);
    if (stage.kind === "data") {
      let data: unknown;
      try {
        data = JSON.parse(bytes.toString("utf8"));
      } catch {
        throw new FrameError("CHORUS_ERR_REQUEST_MALFORMED", `the ${stage.need}-byte data block is not valid JSON (does data_length match?)`);
      }
      if (!isObject(data)) throw new FrameError("CHORUS_ERR_REQUEST_MALFORMED", "the data block must be a JSON object");
      Object.assign(stage.event.data, data);
      if (stage.payload > 0) {
        this.stage = { kind: "payload", event: stage.event, need: stage.payload };
        return null;
      }
      this.stage = { kind: "header" };
      return stage.event;
    }
    stage.event.payload = bytes;
    this.stage = { kind: "header" };
    return stage.event;
  }

  private joined(): Buffer {
    if (this.buffered.length > 1) this.buffered = [Buffer.concat(this.buffered)];
    return this.buffered[0] ?? Buffer.alloc(0);
  }

  private take(n: number): Buffer {
    const all = this.joined();
    const out = Buffer.from(all.subarray(0, n));
    this.consume(n);
    return out;
  }

  private consume(n: number): void {
    const all = this.joined();
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.size = rest.length;
  }
}
