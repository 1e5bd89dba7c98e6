/** Test helper: raw bytes to a listening server, for what no HTTP client would send. */
import net from "node:net";

/** Sends raw bytes; resolves with the status and parsed JSON body of the (only) response. */
export function rawRequest(port: number, bytes: string | Buffer): Promise<{ status: number; body: unknown; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.end(bytes));
    const parts: Buffer[] = [];
    socket.on("data", (d) => parts.push(d));
    socket.on("error", reject);
    socket.on("close", () => {
      const all = Buffer.concat(parts);
      const end = all.indexOf("\r\n\r\n");
      const head = all.subarray(0, end < 0 ? all.length : end).toString("latin1");
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]);
      // only the first response (pipelined garbage after it may have drawn a second one)
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
      const rest = end < 0 ? Buffer.alloc(0) : all.subarray(end + 4);
      let body: unknown = (Number.isNaN(length) ? rest : rest.subarray(0, length)).toString("utf8");
      try {
        body = JSON.parse(body as string);
      } catch {
        /* left as text: the assertion shows it */
      }
      resolve({ status, body, head });
    });
  });
}
