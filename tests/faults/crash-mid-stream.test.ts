/**
 * Defect 2 (issue 11): an engine's worker dying mid-stream must not end a 200 short. The
 * pipeline resumes the undelivered audio on the restarted instance (or a fallback), logging a
 * `fallback` decision; when nothing can serve, SSE gets an error event and raw audio
 * connections are aborted. The child process is killed with a real SIGKILL; a worker thread
 * cannot be signalled, so the fixture ends it abruptly with process.exit.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childProcesses, readBody, SECONDS_PER_SENTENCE, SENTENCES, startFaultServer, until, zombies, type FaultServer } from "./helpers.ts";

let chorus: FaultServer;
beforeAll(async () => {
  chorus = await startFaultServer();
});
afterAll(async () => {
  await chorus?.close();
});

const text = SENTENCES.join(" ");
const full = SENTENCES.length * SECONDS_PER_SENTENCE;

function speech(engine: string, extra: Record<string, unknown> = {}) {
  return fetch(`${chorus.url}/api/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text, engine, format: "pcm", stream: true, fallback: false, ...extra }),
  });
}

/** Arms a crash, starts a stream, and kills the worker when the fixture asks (child) or lets it exit itself (thread). */
async function crashOnce(engine: "fault-thread" | "fault-child", send: () => Promise<Response>) {
  fs.rmSync(path.join(chorus.faultDir, "pid"), { force: true });
  chorus.arm("arm", ...(engine === "fault-thread" ? ["self-exit"] : []));
  const sent = send(); // a non-streamed answer comes only after the whole synthesis: do not wait for it yet
  if (engine === "fault-child") {
    // (the file may be seen between its creation and its write: empty is not a pid yet)
    const pid = Number(
      await until(
        "the fixture's pid",
        () => (fs.existsSync(path.join(chorus.faultDir, "pid")) && fs.readFileSync(path.join(chorus.faultDir, "pid"), "utf8")) || undefined,
      ),
    );
    expect(childProcesses().map((p) => p.pid)).toContain(pid);
    process.kill(pid, "SIGKILL");
  }
  const res = await sent;
  const body = await readBody(res);
  fs.rmSync(path.join(chorus.faultDir, "self-exit"), { force: true });
  return { res, body };
}

describe.each(["fault-thread", "fault-child"] as const)("%s: worker lost mid-stream", (engine) => {
  it("an uninterrupted run is the reference: 5 sentences, 1.5 s", async () => {
    const { body } = { body: await readBody(await speech(engine)) };
    expect(body.ok).toBe(true);
    expect(body.bytes.length / 2 / 16000).toBeCloseTo(full, 2);
  });

  it("streamed raw audio: every sentence arrives (duration within 10%), a fallback decision says why", async () => {
    const { res, body } = await crashOnce(engine, () => speech(engine));
    expect(res.status).toBe(200);
    expect(body.ok, body.error).toBe(true);
    const seconds = body.bytes.length / 2 / 16000;
    expect(Math.abs(seconds - full) / full).toBeLessThan(0.1);
    const snap = (await (await fetch(`${chorus.url}/api/scheduler?decisions=200`)).json()) as {
      decisions: { action: string; reason: string; engine: string; detail?: string }[];
    };
    expect(snap.decisions).toContainEqual(expect.objectContaining({ action: "fallback", reason: "resumed_after_crash", engine }));
  });

  it("non-streamed: the retry happens before the answer; the WAV is whole", async () => {
    const { res, body } = await crashOnce(engine, () => speech(engine, { stream: false, format: "wav" }));
    expect(res.status).toBe(200);
    expect(Math.abs((body.bytes.length - 44) / 2 / 16000 - full) / full).toBeLessThan(0.1);
  });

  it("SSE: every sentence arrives and the stream ends with speech.audio.done", async () => {
    const { res, body } = await crashOnce(engine, () =>
      fetch(`${chorus.url}/v1/audio/speech`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: engine, voice: "a", input: text, response_format: "pcm", stream_format: "sse" }),
      }),
    );
    expect(res.status).toBe(200);
    const events = body.bytes
      .toString()
      .split("\n\n")
      .filter(Boolean)
      .map((e) => JSON.parse(e.replace(/^data: /, "")) as { type: string; audio?: string });
    expect(events.at(-1)?.type).toBe("speech.audio.done");
    const bytes = events.reduce((n, e) => n + (e.audio ? Buffer.from(e.audio, "base64").length : 0), 0);
    expect(Math.abs(bytes / 2 / 24000 - full) / full).toBeLessThan(0.1); // OpenAI pcm is 24 kHz
  });
});

describe("nothing can serve: the failure is visible", () => {
  it("raw audio: the connection is aborted, never a short, cleanly ended 200", async () => {
    chorus.arm("always", "self-exit");
    try {
      const res = await speech("fault-thread");
      expect(res.status).toBe(200);
      const body = await readBody(res);
      expect(body.ok).toBe(false);
      expect(body.bytes.length / 2 / 16000).toBeLessThan(full);
    } finally {
      fs.rmSync(path.join(chorus.faultDir, "always"), { force: true });
    }
  });

  it("SSE: an error event ends the stream (no done event)", async () => {
    chorus.arm("always", "self-exit");
    try {
      const res = await fetch(`${chorus.url}/v1/audio/speech`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "fault-thread", voice: "a", input: text, response_format: "pcm", stream_format: "sse" }),
      });
      const body = await readBody(res);
      const events = body.bytes
        .toString()
        .split("\n\n")
        .filter(Boolean)
        .map((e) => JSON.parse(e.replace(/^data: /, "")) as { type: string; error?: { message: string } });
      // the error object is the API's own ({message, type, param, code}, code in OpenAI's lower case)
      expect(events.at(-1)).toMatchObject({
        type: "error",
        error: { message: expect.stringMatching(/stream ended early/), type: "server_error", param: null, code: expect.stringMatching(/^[a-z_]+$/) },
      });
      expect(events.some((e) => e.type === "speech.audio.done")).toBe(false);
    } finally {
      fs.rmSync(path.join(chorus.faultDir, "always"), { force: true });
      fs.rmSync(path.join(chorus.faultDir, "self-exit"), { force: true });
    }
  });

  it("leaves nothing behind: no zombies, no queued waiters, no leases held", async () => {
    await until("leases back", () => chorus.host.scheduler.residents().every((r) => r.inFlight === 0) || undefined);
    expect(chorus.host.scheduler.queued).toBe(0);
    expect(zombies()).toEqual([]);
  });
});
