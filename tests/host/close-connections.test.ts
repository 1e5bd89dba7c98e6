/**
 * Closing the server does not wait for a connection that has sent nothing (a client's spare
 * one: undici opens one when a response it was reading is aborted, and keeps it for the 72 s
 * our Keep-Alive header allows), still answers a request that was arriving, and closes the
 * keep-alive connection of a request that was running once it is answered.
 */
import http from "node:http";
import net from "node:net";
import { PassThrough } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterEach, expect, it } from "vitest";
import type { Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { testHost } from "../helpers/host.ts";

let host: Host | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

async function listening(preClose?: () => void, routes?: (app: FastifyInstance) => void): Promise<{ app: FastifyInstance; port: number }> {
  host = testHost();
  const app = await buildApp(host);
  routes?.(app);
  // Hooks added here run after the server's own.
  if (preClose)
    app.addHook("preClose", async () => {
      preClose();
    });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  return { app, port: typeof address === "object" && address ? address.port : 0 };
}

/** A client socket and the server's end of it, once the server has accepted it. */
async function connect(app: FastifyInstance, port: number): Promise<{ client: net.Socket; server: net.Socket }> {
  const accepted = new Promise<net.Socket>((resolve) => app.server.once("connection", resolve));
  const client = net.connect(port, "127.0.0.1");
  const [server] = await Promise.all([accepted, new Promise((resolve) => client.once("connect", resolve))]);
  return { client, server };
}

it("close ends a connection that never sent a request instead of waiting for the client", async () => {
  const { app, port } = await listening();
  const { client: spare } = await connect(app, port);
  const ended = new Promise<boolean>((resolve) => spare.once("close", resolve));
  // Without the fix this waits until the client gives up (undici: 71 s) and the test times out.
  await app.close();
  expect(await ended).toBe(false); // closed without an error on the client's side
  expect(spare.bytesRead).toBe(0);
});

it("close still answers a request whose headers were arriving", async () => {
  let socket: net.Socket | undefined;
  // Once the close has begun, the rest of the request arrives.
  const { app, port } = await listening(() => void socket?.end("\r\n"));
  const ends = await connect(app, port);
  socket = ends.client;
  let response = "";
  socket.on("data", (d) => (response += d));
  const ended = new Promise((resolve) => socket?.once("close", resolve));
  socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  while (ends.server.bytesRead === 0) await new Promise((resolve) => setImmediate(resolve)); // the server has the first part
  await app.close();
  await ended;
  // answered, not dropped or mangled: /health itself, or fastify's 503 while it closes (never a 400 from a cut request)
  expect(response).toMatch(/^HTTP\/1\.1 (200|503) /);
});

/**
 * A keep-alive request running when the close begins: answered in full, then its connection
 * closes (a close used to wait for the client's 72 s keep-alive). Whole replies, replies
 * written past fastify's hooks (whole-body.ts hijacks), and streams whose headers left before the close.
 */
it.each(["whole", "hijacked", "streamed"] as const)("close answers a running %s request, then closes its keep-alive connection", async (kind) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const running = new Promise<void>((resolve) => (entered = resolve));
  const { app, port } = await listening(undefined, (app) =>
    app.get("/slow", async (_request, reply) => {
      entered();
      if (kind === "streamed") {
        const body = new PassThrough();
        body.write("first ");
        void gate.then(() => body.end("last"));
        return reply.send(body);
      }
      await gate;
      if (kind === "whole") return "whole body";
      reply.hijack();
      reply.raw.writeHead(200, { "content-type": "text/plain", "content-length": "8" });
      reply.raw.end("hijacked");
    }),
  );
  const agent = new http.Agent({ keepAlive: true });
  let headers!: () => void;
  const headersArrived = new Promise<void>((resolve) => (headers = resolve));
  const answered = new Promise<{ connection: string | undefined; body: string; socket: net.Socket }>((resolve, reject) => {
    http
      .get({ port, host: "127.0.0.1", path: "/slow", agent }, (res) => {
        headers();
        const socket = res.socket;
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ connection: res.headers.connection, body, socket }));
      })
      .on("error", reject);
  });
  await (kind === "streamed" ? headersArrived : running);
  const closed = app.close();
  // the request ends once the server has stopped listening (past the close's one sweep of idle connections)
  while (app.server.listening) await new Promise((resolve) => setImmediate(resolve));
  release();
  const { connection, body, socket } = await answered;
  expect(connection).toBe("keep-alive"); // the client was told it could keep the connection...
  expect(body).toBe(kind === "whole" ? "whole body" : kind === "hijacked" ? "hijacked" : "first last");
  await closed; // ...and the close did not wait for it to give the connection up (72 s)
  if (!socket.closed) await new Promise((resolve) => socket.once("close", resolve)); // the server ended it
  agent.destroy();
});
