/**
 * Fault tests (issue 11 guarantee): plugins that throw on import or load, hang, busy-loop or
 * exit. Each request gets a clear error (never a hang, never a 200 with nothing; a busy loop
 * is killed and the request retried once on the restarted worker, which spins again), the other
 * engines keep serving, and nothing is left behind: no queue entries, no leases, no zombies.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultServer, until, zombies, type FaultServer } from "./helpers.ts";

let chorus: FaultServer;
beforeAll(async () => {
  chorus = await startFaultServer({}, { dirs: ["engines", path.join(import.meta.dirname, "..", "hotswap", "fixtures")] });
});
afterAll(async () => {
  await chorus?.close();
});

const speak = async (engine: string, text: string) => {
  const res = await fetch(`${chorus.url}/api/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text, engine, format: "pcm", fallback: false }),
  });
  return { status: res.status, body: await res.text() };
};

describe("misbehaving plugins", () => {
  it.each([
    ["import-fails", "Hello.", 503, "CHORUS_ERR_ENGINE_UNAVAILABLE"],
    ["throws-on-load", "Hello.", 503, "CHORUS_ERR_ENGINE_UNAVAILABLE"],
    ["misbehaves", "hang", 502, "CHORUS_ERR_ENGINE_FAILED"],
    ["misbehaves", "spin", 502, "CHORUS_ERR_ENGINE_FAILED"],
    ["misbehaves", "die", 502, "CHORUS_ERR_ENGINE_FAILED"],
  ])("%s (%s): %i %s", async (engine, text, status, code) => {
    const res = await speak(engine, text);
    expect(res.status, res.body.slice(0, 300)).toBe(status);
    expect(JSON.parse(res.body).error.code).toBe(code);
    expect((await speak("espeak", "Still serving.")).status).toBe(200);
  });

  it("the misbehaving engine serves again once its worker is replaced", async () => {
    const status = await until("misbehaves to serve", async () => ((await speak("misbehaves", "fine")).status === 200 ? 200 : undefined));
    expect(status).toBe(200);
  });

  it("leaves nothing behind", async () => {
    await until("leases back", () => chorus.host.scheduler.residents().every((r) => r.inFlight === 0) || undefined);
    expect(chorus.host.scheduler.queued).toBe(0);
    expect((await fetch(`${chorus.url}/health`)).status).toBe(200);
    expect(zombies()).toEqual([]);
  });
});
