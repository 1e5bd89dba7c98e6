/**
 * Hot swap against a real `chorus serve` process: a plugin copied in serves within 2 s; a
 * version edit under 20 streaming requests drops none of them (old ones finish on the old
 * generation, new ones go to the new); a broken version never replaces the good one; a
 * deleted plugin is gone.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engine, installFixture, speak, startServer, tempDir, waitFor, type TestServer } from "./server.ts";

let server: TestServer;
let pluginsDir: string;
let toneDir: string;

beforeAll(async () => {
  pluginsDir = tempDir("plugins");
  server = await startServer({ pluginDirs: [pluginsDir] });
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(pluginsDir, { recursive: true, force: true });
});

/** Rewrites the tone plugin as `version`, speaking at `rate` Hz. */
function editTone(version: string, rate: number): void {
  const manifestFile = path.join(toneDir, "plugin.json");
  const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as Record<string, unknown>;
  fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, version }, null, 2));
  const code = path.join(toneDir, "index.ts");
  fs.writeFileSync(code, fs.readFileSync(code, "utf8").replace(/const RATE = \d+;/, `const RATE = ${rate};`));
}

/** A streaming request; resolves with what arrived once the response has ended. */
async function stream(text: string, delayMs: number) {
  const res = await fetch(`${server.url}/api/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ engine: "tone", text, format: "pcm", stream: true, options: { delayMs } }),
  });
  return {
    status: res.status,
    rate: Number(res.headers.get("x-sample-rate")),
    body: (async () => Buffer.from(await res.arrayBuffer()).length)(),
  };
}

describe("hot swap", () => {
  it("serves a plugin within 2 s of its folder being copied in", async () => {
    const started = Date.now();
    toneDir = installFixture("tone", pluginsDir);
    const res = await waitFor(async () => {
      const r = await speak(server, { engine: "tone", text: "one two three" });
      return r.status === 200 ? r : undefined;
    }, 2000, "the new plugin to serve");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.rate).toBe(16000);
    expect(res.bytes).toBe(3 * 800 * 2);
  });

  it("finishes 20 streaming requests on the old generation while new requests get the new one", async () => {
    const words = 60;
    const text = Array.from({ length: words }, (_, i) => `w${i}`).join(" ");
    const old = await Promise.all(Array.from({ length: 20 }, () => stream(text, 50)));
    expect(old.map((r) => r.status)).toEqual(Array(20).fill(200));
    let finished = 0;
    for (const r of old) void r.body.then(() => finished++);

    const before = (await engine(server, "tone"))!;
    editTone("2.0.0", 22050);
    const after = await waitFor(async () => {
      const e = await engine(server, "tone");
      return e?.version === "2.0.0" ? e : undefined;
    }, 2000, "version 2.0.0 to be registered");
    expect(after.generation).toBeGreaterThan(before.generation);
    expect(finished).toBe(0); // the swap happened while all 20 were still streaming

    const fresh = await Promise.all(Array.from({ length: 5 }, () => speak(server, { engine: "tone", text: "new request here" })));
    expect(finished).toBeLessThan(20); // ...and the new requests were served before the old ones ended
    for (const r of fresh) expect(r).toMatchObject({ status: 200, rate: 22050, bytes: 3 * Math.round(22050 * 0.05) * 2 });

    const bytes = await Promise.all(old.map((r) => r.body));
    for (const r of old) expect(r.rate).toBe(16000);
    expect(bytes).toEqual(Array(20).fill(words * 800 * 2));
    // Drained, the old generation's instance is unloaded by the scheduler.
    await waitFor(() => server.logs.some((l) => l.engine === "tone" && l.reason === "stale_generation"), 3000, "the old generation to unload");
  });

  it("keeps serving the good generation when a broken version replaces it, and shows why", async () => {
    fs.writeFileSync(path.join(toneDir, "index.ts"), 'throw new Error("half-unpacked archive");\n');
    fs.writeFileSync(path.join(toneDir, "plugin.json"), fs.readFileSync(path.join(toneDir, "plugin.json"), "utf8").replace("2.0.0", "3.0.0"));
    const listed = await waitFor(async () => {
      const e = await engine(server, "tone");
      return e?.errors.length ? e : undefined;
    }, 5000, "the rejection to show in /api/engines");
    expect(listed).toMatchObject({ version: "2.0.0", state: expect.not.stringMatching("failed") });
    expect(listed.errors[0]).toMatch(/version 3\.0\.0 rejected: .*half-unpacked archive.*still serving version 2\.0\.0/);
    expect(await speak(server, { engine: "tone", text: "still here" })).toMatchObject({ status: 200, rate: 22050 });
    expect(server.logs.some((l) => l.plugin === "tone" && l.reason === "rejected" && String(l.error).includes("half-unpacked archive"))).toBe(true);

    fs.writeFileSync(path.join(toneDir, "plugin.json"), '{ "id": "tone", "version": "nope" ');
    await waitFor(async () => (await engine(server, "tone"))?.errors[0]?.includes("plugin.json"), 5000, "the manifest error to show");
    expect(await speak(server, { engine: "tone", text: "still here" })).toMatchObject({ status: 200, rate: 22050 });
  });

  it("unregisters a plugin whose folder is deleted", async () => {
    fs.rmSync(toneDir, { recursive: true, force: true });
    await waitFor(async () => (await engine(server, "tone")) === undefined, 2000, "tone to disappear");
    const res = await speak(server, { engine: "tone", text: "anyone there" });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body.toString()).error.code).toBe("CHORUS_ERR_ENGINE_NOT_FOUND");
  });
});
