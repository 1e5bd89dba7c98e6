/**
 * Closing a server waits for its open connections; these are closed as soon as they carry no
 * request, so a close waits only for the requests themselves:
 * - Node closes the idle keep-alive ones once, at close (closeIdleConnections), but not a
 *   connection that has not sent a byte yet: Node counts it as waiting for a request's
 *   headers. Clients open such connections ahead of need (undici, Node's fetch, opens a spare
 *   one when a response it was reading is aborted) and keep them for the keep-alive time our
 *   own `Keep-Alive: timeout=72` header gave them, so a close waited ~72 s (or, for `chorus
 *   serve`, until shutdownGraceSeconds cut it off). A connection that has read nothing
 *   carries no request, so it is destroyed at close: nothing a client sent is lost.
 * - A keep-alive connection whose request was running at the close turns idle only when its
 *   response ends, after that one sweep; so while closing, each response's end closes the
 *   connections left idle. A response header (`Connection: close`) could not do it: a
 *   streamed response's headers left before the close, and a whole one is written past
 *   fastify's onSend hooks (whole-body.ts). Requests arriving during the close get fastify's
 *   503 with `Connection: close`.
 */
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";

export function closeUnusedConnectionsOnClose(app: FastifyInstance): void {
  const open = new Set<Socket>();
  let closing = false;
  app.server.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  app.addHook("preClose", async () => {
    closing = true;
    for (const socket of open) if (socket.bytesRead === 0) socket.destroy();
  });
  // Runs once the response is written (its socket is then free: Node skips one still answering).
  app.addHook("onResponse", (_request, _reply, done) => {
    if (closing) app.server.closeIdleConnections();
    done();
  });
}
