/**
 * A Wyoming client written from the protocol description (docs/wyoming.md, the Python
 * library's framing), independent of the server's code: it sends events with `data` inline
 * in the header or, as the Python writer does, in a `data_length` block, and reads events
 * (header line, data block merged over inline data, payload) into a queue.
 */
import net from "node:net";

export interface Event {
  type: string;
  data: Record<string, unknown>;
  payload?: Buffer;
}

export type Framing = "inline" | "data_length";

/** The bytes of one event. */
export function frame(type: string, data: Record<string, unknown> | undefined, framing: Framing = "data_length", payload?: Buffer): Buffer {
  const header: Record<string, unknown> = { type, version: "1.8.0" };
  let block = Buffer.alloc(0);
  if (data && Object.keys(data).length) {
    if (framing === "inline") header.data = data;
    else {
      block = Buffer.from(JSON.stringify(data), "utf8");
      header.data_length = block.length;
    }
  }
  if (payload?.length) header.payload_length = payload.length;
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), block, payload ?? Buffer.alloc(0)]);
}

export class WyomingClient {
  readonly events: Event[] = [];
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static connect(port: number, host = "127.0.0.1"): Promise<WyomingClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => resolve(new WyomingClient(socket)));
      socket.once("error", reject);
    });
  }

  send(type: string, data?: Record<string, unknown>, framing: Framing = "data_length"): void {
    this.socket.write(frame(type, data, framing));
  }

  raw(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  /** Waits until an event of `type` has arrived (or the connection closed); returns all events up to it, taken off the queue. */
  async until(type: string): Promise<Event[]> {
    for (;;) {
      const at = this.events.findIndex((e) => e.type === type);
      if (at >= 0) return this.events.splice(0, at + 1);
      if (this.closed) throw new Error(`connection closed before '${type}'; got ${this.events.map((e) => e.type).join(", ") || "nothing"}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Waits for the connection to close; returns the events received and not yet taken. */
  async closedWith(): Promise<Event[]> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
    return this.events.splice(0);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private parse(): void {
    for (;;) {
      const nl = this.buffer.indexOf(0x0a);
      if (nl < 0) return;
      const header = JSON.parse(this.buffer.subarray(0, nl).toString("utf8")) as Record<string, unknown>;
      const dataLength = Number(header.data_length ?? 0);
      const payloadLength = Number(header.payload_length ?? 0);
      if (this.buffer.length < nl + 1 + dataLength + payloadLength) return;
      let offset = nl + 1;
      const data = { ...((header.data as Record<string, unknown>) ?? {}) };
      if (dataLength) Object.assign(data, JSON.parse(this.buffer.subarray(offset, offset + dataLength).toString("utf8")));
      offset += dataLength;
      const payload = payloadLength ? Buffer.from(this.buffer.subarray(offset, offset + payloadLength)) : undefined;
      offset += payloadLength;
      this.buffer = this.buffer.subarray(offset);
      this.events.push({ type: String(header.type), data, payload });
      this.wake();
    }
  }
}

/** Audio groups (start, chunks, stop) in `events`, with their PCM joined. */
export function audioGroups(events: Event[]): { start: Event; chunks: Event[]; stop: Event; pcm: Int16Array }[] {
  const groups: { start: Event; chunks: Event[]; stop: Event; pcm: Int16Array }[] = [];
  let current: { start: Event; chunks: Event[] } | undefined;
  for (const e of events) {
    if (e.type === "audio-start") current = { start: e, chunks: [] };
    else if (e.type === "audio-chunk") current!.chunks.push(e);
    else if (e.type === "audio-stop") {
      const bytes = Buffer.concat(current!.chunks.map((c) => c.payload ?? Buffer.alloc(0)));
      const pcm = new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      groups.push({ ...current!, stop: e, pcm });
      current = undefined;
    }
  }
  return groups;
}

/** Dominant frequency of a tone, from its zero crossings. */
export function toneHz(pcm: Int16Array, rate: number): number {
  let crossings = 0;
  for (let i = 1; i < pcm.length; i++) if (pcm[i - 1]! < 0 !== pcm[i]! < 0) crossings++;
  return crossings / 2 / (pcm.length / rate);
}
