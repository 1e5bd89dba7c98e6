/**
 * A lean HTTP/1.1 client for the host bench: it measures the server, not a client library.
 * node:http's client reads a 1.5 MB body as some 24 buffers of 64 KiB, each allocated, parsed
 * by llhttp and emitted as a 'data' event: about 2-3 ms on this machine after the server has
 * written its last byte (curl: about the same as the server's own time). This client reads
 * into one preallocated buffer (net.Socket `onread`), parses the status line and headers,
 * and counts the body by its Content-Length; one keep-alive connection, requests one at a time.
 * It speaks only what the bench needs: a body delimited by Content-Length or by chunked
 * transfer coding (a streamed response; chunk extensions and trailers are read and dropped);
 * a close-delimited body is an error, not a guess; `Connection: close` closes the socket and
 * the next request opens a new one. No HEAD, no 1xx.
 */
import net from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** Body bytes received (Content-Length). */
  bytes: number;
  /** The body, when `keepBody` or the status is not 2xx; else empty. */
  body: Buffer;
}

const READ_BUFFER_BYTES = 4 * 1024 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;

interface Pending {
  resolve(r: RawResponse): void;
  reject(e: Error): void;
  keepBody: boolean;
  head: Buffer[];
  response?: RawResponse;
  remaining: number;
  kept: Buffer[];
  close: boolean;
  /** The chunked decoder's state, for a chunked body. */
  chunked?: { state: "size" | "data" | "crlf" | "trailer" | "done"; line: string; left: number };
}

export class RawHttpClient {
  private readonly buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private socket?: net.Socket;
  private pending?: Pending;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  static forUrl(url: string): RawHttpClient {
    const u = new URL(url);
    if (u.protocol !== "http:") throw new Error(`RawHttpClient speaks plain http, not ${u.protocol}`);
    return new RawHttpClient(u.hostname, Number(u.port || 80));
  }

  request(method: string, path: string, options: { headers?: Record<string, string>; body?: string; keepBody?: boolean } = {}): Promise<RawResponse> {
    if (this.pending) return Promise.reject(new Error("RawHttpClient: one request at a time"));
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${this.host}:${this.port}`, "Connection: keep-alive"];
    for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`${name}: ${value}`);
    if (body) lines.push(`Content-Length: ${body.length}`);
    const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
    return new Promise<RawResponse>((resolve, reject) => {
      this.pending = { resolve, reject, keepBody: options.keepBody ?? false, head: [], remaining: 0, kept: [], close: false };
      const socket = this.connection();
      socket.write(body ? Buffer.concat([head, body]) : head);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connection(): net.Socket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const socket = net.connect({
      host: this.host,
      port: this.port,
      noDelay: true,
      onread: { buffer: this.buffer, callback: (n: number) => (this.onRead(n), true) },
    });
    const fail = (err: Error) => {
      const p = this.pending;
      this.pending = undefined;
      if (this.socket === socket) this.socket = undefined;
      p?.reject(err);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("connection closed before the response ended")));
    this.socket = socket;
    return socket;
  }

  private onRead(n: number): void {
    const p = this.pending;
    if (!p) {
      this.socket?.destroy(new Error(`${n} bytes from the server with no request in flight`));
      return;
    }
    if (!p.response) {
      // The head may span reads: a copy of it (small) is kept until the blank line; the body is never copied.
      const chunk = this.buffer.subarray(0, n);
      const all = p.head.length ? Buffer.concat([...p.head, chunk]) : chunk;
      const end = all.indexOf("\r\n\r\n");
      if (end < 0) {
        p.head = [Buffer.from(all)];
        if (all.length > MAX_HEADER_BYTES) this.socket?.destroy(new Error("response head too large"));
        return;
      }
      try {
        p.response = parseHead(all.toString("latin1", 0, end));
      } catch (err) {
        this.socket?.destroy(err as Error);
        return;
      }
      const te = p.response.headers["transfer-encoding"];
      const length = p.response.headers["content-length"];
      if (te !== undefined && te.toLowerCase() === "chunked") {
        p.chunked = { state: "size", line: "", left: 0 };
        p.remaining = 1; // until the last chunk and the trailers are read
      } else if (te !== undefined || length === undefined || !/^\d+$/.test(length)) {
        this.socket?.destroy(new Error(`RawHttpClient needs a Content-Length or chunked body (got ${te ? `transfer-encoding ${te}` : "no content-length"})`));
        return;
      } else p.remaining = Number(length);
      p.close = (p.response.headers.connection ?? "").toLowerCase() === "close";
      p.keepBody ||= p.response.status < 200 || p.response.status >= 300;
      // What followed the head in these reads is body.
      p.head = [];
      if (all.length > end + 4) this.take(p, all.subarray(end + 4));
    } else {
      this.take(p, this.buffer.subarray(0, n));
    }
    if (p.remaining < 0) {
      this.socket?.destroy(new Error("the server sent more bytes than its Content-Length"));
      return;
    }
    if (p.remaining > 0) return;
    this.pending = undefined;
    if (p.close) this.close();
    const r = p.response!;
    if (p.keepBody) r.body = Buffer.concat(p.kept);
    p.resolve(r);
  }

  private takeChunked(p: Pending, c: NonNullable<Pending["chunked"]>, bytes: Buffer): void {
    try {
      decodeChunked(p, c, bytes, (data) => {
        p.response!.bytes += data.length;
        if (p.keepBody) p.kept.push(Buffer.from(data));
      });
    } catch (err) {
      p.remaining = -1;
      this.socket?.destroy(err as Error);
    }
  }

  private take(p: Pending, bytes: Buffer): void {
    if (p.chunked) {
      this.takeChunked(p, p.chunked, bytes);
      return;
    }
    p.remaining -= bytes.length;
    p.response!.bytes += bytes.length;
    if (p.keepBody) p.kept.push(Buffer.from(bytes));
  }
}

/** Chunked transfer coding (RFC 9112, 7.1): size line, data, CRLF, ..., a 0 size, trailers, a blank line. */
function decodeChunked(p: Pending, c: NonNullable<Pending["chunked"]>, bytes: Buffer, body: (data: Buffer) => void): void {
  let i = 0;
  while (i < bytes.length && c.state !== "done") {
    if (c.state === "data") {
      const n = Math.min(c.left, bytes.length - i);
      body(bytes.subarray(i, i + n));
      c.left -= n;
      i += n;
      if (!c.left) c.state = "crlf";
      continue;
    }
    const nl = bytes.indexOf(10, i);
    if (nl < 0) {
      c.line += bytes.toString("latin1", i);
      if (c.line.length > 4096) throw new Error("chunk size or trailer line too long");
      return;
    }
    const line = (c.line + bytes.toString("latin1", i, nl)).replace(/\r$/, "");
    c.line = "";
    i = nl + 1;
    if (c.state === "crlf") {
      if (line !== "") throw new Error("chunk data not followed by CRLF");
      c.state = "size";
    } else if (c.state === "size") {
      const size = /^([0-9a-fA-F]+)[ \t]*(?:;.*)?$/.exec(line);
      if (!size) throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
      c.left = Number.parseInt(size[1]!, 16);
      c.state = c.left === 0 ? "trailer" : "data";
    } else if (line === "") c.state = "done"; // trailer fields end with a blank line
  }
  if (c.state === "done") {
    if (i < bytes.length) throw new Error("bytes after the last chunk");
    p.remaining = 0;
  }
}

function parseHead(text: string): RawResponse {
  const [statusLine, ...lines] = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine ?? "");
  if (!m) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(m[1]), headers, bytes: 0, body: Buffer.alloc(0) };
}
