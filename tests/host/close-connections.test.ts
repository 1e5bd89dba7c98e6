/**
 * Closing the server does not wait for a connection that has sent nothing (a client's spare
 * one: undici opens one when a response it was reading is aborted, and keeps it for the 72 s
 * our Keep-Alive header allows), and still answers a request that was arriving.
 */
import net from "node:net";
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

async function listening(preClose?: () => void): Promise<{ app: FastifyInstance; port: number }> {
  host = testHost();
  const app = await buildApp(host);
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
