/**
 * Hot swap against a real `chorus serve` process: a plugin copied in serves; a version edit
 * under 20 streaming requests drops none of them (old ones finish on the old generation, new
 * ones go to the new); a broken version never replaces the good one; a deleted plugin is gone.
 * Each test installs its own copy of the tone fixture under its own id, so a failure in one
 * cannot leave another with a plugin in an unexpected state. The old requests are held open
 * by a gate file (see fixtures/tone), not by a delay, so "still streaming" never depends on
 * the machine's speed; how fast a copied-in plugin serves is a benchmark matter.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engine, installFixture, speak, startServer, tempDir, waitFor, type TestServer } from "./server.ts";

let server: TestServer;
let pluginsDir: string;

beforeAll(async () => {
  pluginsDir = tempDir("plugins");
  server = await startServer({ pluginDirs: [pluginsDir] });
});
afterAll(async () => {
  await server?.stop();
});

/** Installs the tone fixture as plugin `id` (version 1.0.0, 16000 Hz) and waits until it serves. */
async function installTone(id: string): Promise<string> {
  const dir = installFixture("tone", tempDir(`stage-${id}`), id);
  const manifestFile = path.join(dir, "plugin.json");
  fs.writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifestFile, "utf8")), id }, null, 2));
  // Moved in whole, as an installer does, so the watcher never sees a half-copied folder.
  const target = path.join(pluginsDir, id);
  fs.renameSync(dir, target);
  await waitFor(async () => (await speak(server, { engine: id, text: "one" })).status === 200, `${id} to serve`);
  return target;
}

/** Rewrites a tone plugin as `version`, speaking at `rate` Hz. */
function editTone(dir: string, version: string, rate: number): void {
  const manifestFile = path.join(dir, "plugin.json");
  const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as Record<string, unknown>;
  fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, version }, null, 2));
  const code = path.join(dir, "index.ts");
  fs.writeFileSync(code, fs.readFileSync(code, "utf8").replace(/const RATE = \d+;/, `const RATE = ${rate};`));
}

/** A streaming request; resolves once its headers (and so its first chunk) have arrived. */
async function stream(id: string, text: string, options: Record<string, unknown>) {
  const res = await fetch(`${server.url}/api/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ engine: id, text, format: "pcm", stream: true, options }),
  });
  return {
    status: res.status,
    rate: Number(res.headers.get("x-sample-rate")),
    body: (async () => Buffer.from(await res.arrayBuffer()).length)(),
  };
}

describe("hot swap", () => {
  it("serves a plugin once its folder is copied in", async () => {
    const dir = installFixture("tone", pluginsDir, "tone");
    expect(fs.existsSync(dir)).toBe(true);
    const res = await waitFor(async () => {
      const r = await speak(server, { engine: "tone", text: "one two three" });
      return r.status === 200 ? r : undefined;
    }, "the new plugin to serve");
    expect(res.rate).toBe(16000);
    expect(res.bytes).toBe(3 * 800 * 2);
    expect(await engine(server, "tone")).toMatchObject({ version: "1.0.0" });
  });

  it("finishes 20 streaming requests on the old generation while new requests get the new one", async () => {
    const dir = await installTone("tone-swap");
    const gate = path.join(tempDir("gate"), "open");
    const words = 60;
    const text = Array.from({ length: words }, (_, i) => `w${i}`).join(" ");
    // Each old request has its first chunk (its headers) and then waits for the gate.
    const old = await Promise.all(Array.from({ length: 20 }, () => stream("tone-swap", text, { delayMs: 0, gate })));
    expect(old.map((r) => r.status)).toEqual(Array(20).fill(200));
    let finished = 0;
    for (const r of old) void r.body.then(() => finished++);

    const before = (await engine(server, "tone-swap"))!;
    expect(before.version).toBe("1.0.0");
    editTone(dir, "2.0.0", 22050);
    const after = await waitFor(async () => {
      const e = await engine(server, "tone-swap");
      return e?.version === "2.0.0" ? e : undefined;
    }, "version 2.0.0 to be registered");
    expect(after.generation).toBeGreaterThan(before.generation);

    // New requests are served by the new generation while all 20 old ones are still open.
    const fresh = await Promise.all(Array.from({ length: 5 }, () => speak(server, { engine: "tone-swap", text: "new request here" })));
    for (const r of fresh) expect(r).toMatchObject({ status: 200, rate: 22050, bytes: 3 * Math.round(22050 * 0.05) * 2 });
    expect(finished).toBe(0);

    fs.writeFileSync(gate, "");
    const bytes = await Promise.all(old.map((r) => r.body));
    for (const r of old) expect(r.rate).toBe(16000);
    expect(bytes).toEqual(Array(20).fill(words * 800 * 2));
    // Drained, the old generation's instance is unloaded by the scheduler.
    await waitFor(() => server.logs.some((l) => l.engine === "tone-swap" && l.reason === "stale_generation"), "the old generation to unload");
  });

  it("keeps serving the good generation when a broken version replaces it, and shows why", async () => {
    const dir = await installTone("tone-broken");
    fs.writeFileSync(path.join(dir, "index.ts"), 'throw new Error("half-unpacked archive");\n');
    fs.writeFileSync(path.join(dir, "plugin.json"), fs.readFileSync(path.join(dir, "plugin.json"), "utf8").replace("1.0.0", "3.0.0"));
    // The watcher may first see plugin.json half-written (writeFileSync truncates, then writes):
    // that is rejected too ("a change rejected: ..."), and the finished file is judged on its next event.
    const listed = await waitFor(async () => {
      const e = await engine(server, "tone-broken");
      return e?.errors.some((m) => m.includes("version 3.0.0")) ? e : undefined;
    }, "version 3.0.0's rejection to show in /api/engines");
    expect(listed).toMatchObject({ version: "1.0.0", state: expect.not.stringMatching("failed") });
    expect(listed.errors.find((m) => m.includes("version 3.0.0"))).toMatch(/version 3\.0\.0 rejected: .*half-unpacked archive.*still serving version 1\.0\.0/);
    expect(await speak(server, { engine: "tone-broken", text: "still here" })).toMatchObject({ status: 200, rate: 16000 });
    expect(server.logs.some((l) => l.plugin === "tone-broken" && l.reason === "rejected" && String(l.error).includes("half-unpacked archive"))).toBe(true);

    fs.writeFileSync(path.join(dir, "plugin.json"), '{ "id": "tone-broken", "version": "nope" ');
    await waitFor(async () => (await engine(server, "tone-broken"))?.errors[0]?.includes("plugin.json"), "the manifest error to show");
    expect(await speak(server, { engine: "tone-broken", text: "still here" })).toMatchObject({ status: 200, rate: 16000 });
  });

  it("unregisters a plugin whose folder is deleted", async () => {
    const dir = await installTone("tone-gone");
    fs.rmSync(dir, { recursive: true, force: true });
    await waitFor(async () => (await engine(server, "tone-gone")) === undefined, "tone-gone to disappear");
    const res = await speak(server, { engine: "tone-gone", text: "anyone there" });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body.toString()).error.code).toBe("CHORUS_ERR_ENGINE_NOT_FOUND");
  });
});
