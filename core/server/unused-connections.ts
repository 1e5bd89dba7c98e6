/**
 * Closing a server waits for its open connections. Node closes the idle keep-alive ones at
 * close (closeIdleConnections), but not a connection that has not sent a byte yet: Node counts
 * it as waiting for a request's headers. Clients open such connections ahead of need (undici,
 * Node's fetch, opens a spare one when a response it was reading is aborted) and keep them for
 * the keep-alive time our own `Keep-Alive: timeout=72` header gave them, so a close waited
 * ~72 s (or, for `chorus serve`, until shutdownGraceSeconds cut it off). A connection that has
 * read nothing carries no request, so it is destroyed at close: nothing a client sent is lost.
 */
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";

export function closeUnusedConnectionsOnClose(app: FastifyInstance): void {
  const open = new Set<Socket>();
  app.server.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  app.addHook("preClose", async () => {
    for (const socket of open) if (socket.bytesRead === 0) socket.destroy();
  });
}
