/**
 * Defect 6 (issue 11): routes that wait for an engine must pass their request's abort
 * signal, so a client that goes away leaves no waiter in the scheduler's queue. The engine is
 * held busy by a request the fixture parks ("Hold"); each route then queues behind it, its
 * client disconnects, and the queue must empty while the engine is still busy.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultServer, until, type FaultServer } from "./helpers.ts";

let chorus: FaultServer;
beforeAll(async () => {
  chorus = await startFaultServer();
});
afterAll(async () => {
  await chorus?.close();
});

const post = (url: string, body?: unknown, signal?: AbortSignal) =>
  fetch(`${chorus.url}${url}`, {
    method: "POST",
    signal,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });

const ROUTES: [string, (signal: AbortSignal) => Promise<Response>][] = [
  ["GET /api/voices", (signal) => fetch(`${chorus.url}/api/voices?engine=fault-thread`, { signal })],
  ["GET /v1/audio/voices", (signal) => fetch(`${chorus.url}/v1/audio/voices?model=fault-thread`, { signal })],
  ["POST /api/reload", (signal) => post("/api/reload?tts_method=fault-thread", undefined, signal)],
  ["POST /api/engines/:id/activate?load=true", (signal) => post("/api/engines/fault-thread/activate?load=true", undefined, signal)],
  [
    "POST /api/previewvoice",
    (signal) =>
      fetch(`${chorus.url}/api/previewvoice`, { method: "POST", signal, headers: { "content-type": "application/x-www-form-urlencoded" }, body: "voice=a" }),
  ],
];

describe("a client that goes away leaves no waiter behind", () => {
  it.each(ROUTES)("%s", async (_name, send) => {
    const dir = chorus.faultDir;
    fs.rmSync(path.join(dir, "release"), { force: true });
    fs.rmSync(path.join(dir, "holding"), { force: true });
    // previewvoice speaks with the default engine
    expect((await post("/api/engines/fault-thread/activate")).status).toBe(200);
    const blocker = post("/api/speech", { text: "Hold on.", engine: "fault-thread", format: "pcm" });
    await until("the engine to be busy", () => fs.existsSync(path.join(dir, "holding")) || undefined);
    const client = new AbortController();
    const waiting = send(client.signal).catch((e: unknown) => e);
    await until("the request to queue", () => chorus.host.scheduler.queued === 1 || undefined);
    client.abort();
    await waiting;
    // the engine is still busy: only the route's abort signal can take the waiter out
    const left = await until("the queue to empty", () => chorus.host.scheduler.queued === 0 || undefined, 120).catch(() => chorus.host.scheduler.queued);
    fs.writeFileSync(path.join(dir, "release"), "");
    const held = await blocker;
    await held.arrayBuffer();
    expect(held.status).toBe(200);
    expect(left).toBe(true);
    await until("the lease back", () => chorus.host.scheduler.residents().every((r) => r.inFlight === 0) || undefined);
  });
});
