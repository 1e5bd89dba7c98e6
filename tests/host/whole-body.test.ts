/**
 * A whole body sent as parts (core/server/whole-body.ts): the client receives exactly the
 * joined bytes, with Content-Length and the headers hooks set before the route (CORS), and the
 * connection stays usable for the next request (keep-alive).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wavFile, wavParts } from "../../core/audio/output/index.ts";
import { sendParts } from "../../core/server/whole-body.ts";

const chunks = Array.from({ length: 7 }, (_, k) => Int16Array.from({ length: 40_000 + k }, (_, i) => ((i * 37 + k) % 65536) - 32768));
const app = Fastify();
let port = 0;
/** Per write of the last response: how many buffers it carried. */
const writes: number[] = [];

beforeAll(async () => {
  app.addHook("onRequest", async (_request, reply) => {
    void reply.header("Access-Control-Allow-Origin", "http://example.test");
  });
  app.post("/wav", async (_request, reply) => {
    void reply.header("X-Sample-Rate", "22050");
    // Count the socket's writes for this response (net.Socket's Writable hooks).
    const socket = reply.raw.socket as unknown as Record<"_write" | "_writev", (...args: unknown[]) => void>;
    writes.length = 0;
    for (const name of ["_write", "_writev"] as const) {
      const original = socket[name]!.bind(socket);
      socket[name] = (...args: unknown[]) => {
        writes.push(name === "_writev" ? (args[0] as unknown[]).length : 1);
        original(...args);
      };
    }
    sendParts(reply, "audio/wav", wavParts(22050, chunks));
  });
  app.post("/bad-header", async (_request, reply) => {
    void reply.header("X-Chorus-Voice", "さくら"); // Node refuses it in a head
    sendParts(reply, "audio/wav", wavParts(22050, chunks));
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(() => app.close());

function post(agent: http.Agent, path = "/wav"): Promise<{ res: http.IncomingMessage; body: Buffer; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method: "POST", agent }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ res, body: Buffer.concat(parts), reused: req.reusedSocket }));
      res.on("error", reject);
    });
    req.on("error", reject);
    // an unanswered request fails the test instead of hanging it
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer to POST ${path}`)));
    req.end();
  });
}

describe("sendParts", () => {
  it("sends the parts' bytes, byte-identical to wavFile(), with Content-Length, the hooks' headers and keep-alive", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const expected = wavFile(22050, chunks);
      const first = await post(agent);
      expect(first.res.statusCode).toBe(200);
      expect(first.res.headers["content-length"]).toBe(String(expected.length));
      expect(first.res.headers["transfer-encoding"]).toBeUndefined();
      expect(first.res.headers["content-type"]).toBe("audio/wav");
      expect(first.res.headers["access-control-allow-origin"]).toBe("http://example.test");
      expect(first.res.headers["x-sample-rate"]).toBe("22050");
      expect(first.body.equals(expected)).toBe(true);
      // One writev: the head and every part (8 of them) together.
      expect(writes).toHaveLength(1);
      expect(writes[0]).toBeGreaterThanOrEqual(9);
      const second = await post(agent);
      expect(second.reused).toBe(true);
      expect(second.body.equals(expected)).toBe(true);
    } finally {
      agent.destroy();
    }
  });
});

describe("sendParts with a header value Node refuses", () => {
  it("fails the route with a 500 (fastify's error handler) instead of leaving the request unanswered", async () => {
    const agent = new http.Agent({ keepAlive: false });
    try {
      const { res, body } = await post(agent, "/bad-header");
      expect(res.statusCode).toBe(500);
      expect(String(body)).toContain("ERR_INVALID_CHAR");
    } finally {
      agent.destroy();
    }
  });
});
