/**
 * Defect 3 (issue 11): a plugin allocating without bound grew the server to gigabytes while
 * its manifest said `ramMb: 16`. Now it is stopped at its declared RAM plus the margin (here
 * 16 + 32 MB): a worker thread by V8's heap limit, a child process by the RSS watchdog. The
 * client gets CHORUS_ERR_ENGINE_MEMORY, the scheduler records it, the server's own memory
 * stays bounded and other engines keep serving. Not covered: ArrayBuffers allocated by a
 * worker-thread plugin (outside the V8 heap; use isolation "process" for such engines).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryLimitMb } from "../../core/registry/memory-limit.ts";
import { manifest } from "../scheduler/helpers.ts";
import { startFaultServer, until, zombies, type FaultServer } from "./helpers.ts";

let chorus: FaultServer;
beforeAll(async () => {
  chorus = await startFaultServer({}, { memory: { marginMb: 32, defaultCeilingMb: 512, pollMs: 20 } });
});
afterAll(async () => {
  await chorus?.close();
});

const speak = (engine: string, text: string) =>
  fetch(`${chorus.url}/api/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text, engine, format: "pcm", fallback: false }) });

describe("memory limit per plugin", () => {
  it("the limit is the declared RAM plus the margin, or the default ceiling", () => {
    const policy = { marginMb: 32, defaultCeilingMb: 512, pollMs: 20, processRuntimeMb: 160 };
    expect(memoryLimitMb(manifest("a", [{ name: "cpu", device: "cpu", ramMb: 16 }]), policy)).toEqual({ declaredMb: 16, limitMb: 48 });
    expect(memoryLimitMb(manifest("b", [{ name: "cpu", device: "cpu" }]), policy)).toEqual({ declaredMb: 0, limitMb: 512 });
  });

  it.each(["fault-thread", "fault-child"])("%s: stopped at its limit, CHORUS_ERR_ENGINE_MEMORY, the server unharmed", async (engine) => {
    const before = process.memoryUsage().rss;
    const res = await speak(engine, "Grow without bound.");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("CHORUS_ERR_ENGINE_MEMORY");
    // 16 declared + 32 margin (+ 160 for a child process's own Node runtime)
    expect(body.error.message).toMatch(engine === "fault-thread" ? /limit of 48 MB/ : /limit of 208 MB/);
    // the server process (this test process) grew by far less than the plugin tried to take
    expect(process.memoryUsage().rss - before).toBeLessThan(400 * 1024 * 1024);
    const snap = (await (await fetch(`${chorus.url}/api/scheduler?decisions=50`)).json()) as { decisions: { action: string; engine: string }[] };
    expect(snap.decisions).toContainEqual(expect.objectContaining({ action: "oom", engine }));
    // other engines keep serving, and so does this one once restarted
    expect((await speak("espeak", "Still here.")).status).toBe(200);
    expect((await speak(engine, "Back again.")).status).toBe(200);
  });

  it("leaves nothing behind", async () => {
    await until("leases back", () => chorus.host.scheduler.residents().every((r) => r.inFlight === 0) || undefined);
    expect(chorus.host.scheduler.queued).toBe(0);
    expect(zombies()).toEqual([]);
  });
});
