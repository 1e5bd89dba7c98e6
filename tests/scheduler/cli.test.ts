/** `chorus engine ...` sends the right HTTP calls and reports server errors and usage errors. */
import { describe, expect, it } from "vitest";
import { EngineUsageError, ServerUnreachableError, engineCommand } from "../../core/cli/scheduler.ts";

function fakeServer(status = 200, reply: unknown = { ok: true }) {
  const calls: { url: string; method: string; body?: unknown }[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, method: String(init.method), body: init.body ? JSON.parse(String(init.body)) : undefined });
    return new Response(JSON.stringify(reply), { status, headers: { "content-type": "application/json" } });
  }) as unknown as typeof globalThis.fetch;
  return { calls, fetch };
}

describe("chorus engine", () => {
  it.each([
    [["pin", "xtts"], "POST", "/api/scheduler/engines/xtts/pin", undefined],
    [["unpin", "xtts"], "POST", "/api/scheduler/engines/xtts/unpin", undefined],
    [["unload", "xtts"], "POST", "/api/scheduler/engines/xtts/unload", undefined],
    [["lowvram", "xtts", "on"], "POST", "/api/scheduler/engines/xtts/lowvram", { enabled: true }],
    [["keepalive", "xtts", "-1"], "POST", "/api/scheduler/engines/xtts/keepalive", { seconds: -1 }],
    [["keepalive", "xtts", "default"], "POST", "/api/scheduler/engines/xtts/keepalive", { seconds: null }],
  ])("%j", async (args, method, path, body) => {
    const server = fakeServer();
    const out: string[] = [];
    expect(await engineCommand(args, { url: "http://h:1/", fetch: server.fetch, out: (t) => out.push(t) })).toBe(0);
    expect(server.calls).toEqual([{ url: `http://h:1${path}`, method, body }]);
    expect(out).toEqual(['{"ok":true}']);
  });

  it("status prints a summary of devices, engines and decisions", async () => {
    const server = fakeServer(200, {
      devices: [
        {
          id: "cuda:0",
          name: "Sim",
          totalMb: 4096,
          freeMb: 3072,
          heldByOthersMb: 1024,
          reserveMb: 256,
          holdings: [{ engine: "mid", profile: "gpu", residentMb: 1500, transientMb: 0 }],
        },
      ],
      engines: [{ engine: "mid", profile: "gpu", device: "cuda:0", state: "ready", inFlight: 0, queued: 0, pinned: true, unloadAt: null }],
      decisions: [{ at: "2026-01-01T00:00:00.000Z", action: "load", reason: "fits", engine: "mid", profile: "gpu" }],
    });
    const out: string[] = [];
    await engineCommand(["status"], { fetch: server.fetch, out: (t) => out.push(t) });
    expect(server.calls[0]!.url).toBe("http://127.0.0.1:7851/api/scheduler?decisions=10");
    expect(out[0]).toContain("mid:gpu 1500 MB");
    expect(out[0]).toMatch(/mid:gpu\s+cuda:0\s+ready\s+in flight 0, queued 0, pinned/);
    expect(out[0]).toContain("load mid:gpu fits");
  });

  it("reports server errors and bad usage", async () => {
    const server = fakeServer(404, { error: { code: "CHORUS_ERR_ENGINE_NOT_FOUND", message: "no engine 'x'" } });
    // One code, the server's (main.ts prints it once: "no engine 'x' (HTTP 404) [CHORUS_ERR_ENGINE_NOT_FOUND]").
    await expect(engineCommand(["pin", "x"], { fetch: server.fetch })).rejects.toMatchObject({
      message: "no engine 'x' (HTTP 404)",
      code: "CHORUS_ERR_ENGINE_NOT_FOUND",
      status: 404,
    });
    await expect(engineCommand(["lowvram", "x", "maybe"], { fetch: server.fetch })).rejects.toBeInstanceOf(EngineUsageError);
    await expect(engineCommand(["pin"], { fetch: server.fetch })).rejects.toThrow(/missing engine id/);
    await expect(engineCommand(["fly"], { fetch: server.fetch })).rejects.toThrow(/unknown engine command/);
    const unreachable = engineCommand(["status"], { fetch: () => Promise.reject(new TypeError("fetch failed")), url: "http://127.0.0.1:1" });
    await expect(unreachable).rejects.toBeInstanceOf(ServerUnreachableError); // exit 1, not a usage error
    await expect(unreachable).rejects.toThrow(/cannot reach the Chorus server at http:\/\/127\.0\.0\.1:1/);
  });
});
