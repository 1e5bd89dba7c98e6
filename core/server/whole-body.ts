/**
 * A whole response body given as parts (a WAV's header and the engine's chunks: output
 * stage, wholeAudioParts), sent without joining them into one buffer: the status line, the
 * headers (with Content-Length, the parts' total) and every part leave in one corked write,
 * which the socket hands to the kernel as one writev. Joining a 1.5 MB file first cost a
 * copy of it on the event loop before the first byte could leave.
 * The reply is hijacked for this (the route has nothing left to fail: the audio is made), so
 * the headers fastify's hooks set (CORS) are carried over by hand. They are checked before
 * the hijack: a value Node refuses (a character outside Latin-1) then fails the route with
 * the surface's 500, where after the hijack it would leave the request unanswered.
 */
import { type OutgoingHttpHeaders, validateHeaderName, validateHeaderValue } from "node:http";
import type { FastifyReply } from "fastify";

export function sendParts(reply: FastifyReply, contentType: string, parts: Buffer[]): void {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const headers: OutgoingHttpHeaders = { ...(reply.getHeaders() as OutgoingHttpHeaders), "content-type": contentType, "content-length": String(length) };
  for (const [name, value] of Object.entries(headers)) {
    validateHeaderName(name);
    for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) validateHeaderValue(name, String(one));
  }
  const status = reply.statusCode;
  reply.hijack();
  const res = reply.raw;
  res.cork();
  res.writeHead(status, headers);
  for (const part of parts) res.write(part);
  res.end();
  res.uncork();
}
