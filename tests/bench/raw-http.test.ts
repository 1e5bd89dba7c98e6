/**
 * The host bench's lean HTTP/1.1 client (raw-http.ts) is a correct client for what it reads:
 * the status line, a Content-Length body or a chunked one (several chunks, a trailer),
 * keep-alive (one connection for several requests) and error bodies.
 */
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawHttpClient } from "./raw-http.ts";

const big = Buffer.alloc(3 * 1024 * 1024 + 7, 7);
let connections = 0;
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    if (req.url === "/big") {
      res.writeHead(200, { "content-length": String(big.length), "x-echo": body });
      res.end(big);
    } else if (req.url === "/chunked") {
      // No length: node's server sends chunked coding, one chunk per write, with a trailer.
      res.writeHead(200, { Trailer: "X-Trailer" });
      const parts = ["hello", " ", "world!"];
      const step = () => {
        const part = parts.shift();
        if (part === undefined) {
          res.addTrailers({ "X-Trailer": "yes" });
          res.end();
          return;
        }
        res.write(part);
        setTimeout(step, 2);
      };
      step();
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "nope" }));
    }
  });
});
server.on("connection", () => connections++);

let client: RawHttpClient;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  client = new RawHttpClient("127.0.0.1", (server.address() as AddressInfo).port);
});
afterAll(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe("RawHttpClient", () => {
  it("reads a Content-Length body, then a chunked one and an error body on the same connection", async () => {
    const a = await client.request("POST", "/big", { body: "hi", headers: { "content-type": "text/plain" } });
    expect(a.status).toBe(200);
    expect(a.bytes).toBe(big.length);
    expect(a.headers["x-echo"]).toBe("hi");
    const b = await client.request("GET", "/chunked", { keepBody: true });
    expect(b.status).toBe(200);
    expect(b.body.toString()).toBe("hello world!");
    expect(b.bytes).toBe(12);
    const c = await client.request("GET", "/missing");
    expect(c.status).toBe(404);
    expect(JSON.parse(c.body.toString())).toEqual({ error: "nope" });
    expect(connections).toBe(1);
  });

  it("decodes chunked coding cut anywhere: sizes, extensions, CRLFs and trailers straddling reads", async () => {
    const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\nworld!!!!!\r\n0\r\nX-Trailer: yes\r\n\r\n";
    const raw = net.createServer((socket) => {
      socket.once("data", async () => {
        for (let at = 0; at < wire.length; at += 3) {
          socket.write(wire.slice(at, at + 3));
          await new Promise((r) => setTimeout(r, 1));
        }
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    const c = new RawHttpClient("127.0.0.1", (raw.address() as AddressInfo).port);
    try {
      const r = await c.request("GET", "/", { keepBody: true });
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe("hello world!!!!!");
      expect(r.bytes).toBe(16);
    } finally {
      c.close();
      await new Promise((r) => raw.close(r));
    }
  });
});
