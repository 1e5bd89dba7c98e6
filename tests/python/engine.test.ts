/**
 * A Python engine under failure, with real Python processes (tests/python/fixtures/
 * misbehaving-py, standard library only, behaviour chosen per request): library output on
 * stdout/stderr never breaks the protocol; a crash mid-stream restarts the process and the
 * request is resumed there; a hang (a native call holding the GIL: no audio for chunkSeconds, then no pong) gets the
 * process killed and restarted and the request resumed there too; cancellation reaches the Python
 * generator; an out-of-memory error raised in Python sends the request down the fallback
 * chain; a hot-swapped Python plugin serves its new code.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runChorusAsync } from "../helpers/process.ts";
import { engine, healthy, speak, startServer, tempDir, waitFor, type TestServer } from "../hotswap/server.ts";

const FIXTURE = path.join(import.meta.dirname, "fixtures/misbehaving-py");
let server: TestServer;
let pluginsDir: string;
let env: Record<string, string>;

const setup = async (id: string) => {
  const res = await runChorusAsync(["plugin", "setup", id], { env });
  expect(res.status, res.stderr + res.stdout).toBe(0);
};
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");
const logsOf = (id: string) => server.logs.filter((l) => l.plugin === id);
const CHUNK_BYTES = 800 * 2; // 50 ms at 16 kHz

beforeAll(async () => {
  pluginsDir = tempDir("py-plugins");
  fs.cpSync(FIXTURE, path.join(pluginsDir, "misbehaving-py"), { recursive: true });
  const envsDir = tempDir("py-envs");
  const dataDir = tempDir("py-data");
  env = { CHORUS_ENGINES__DIRS: JSON.stringify(["engines", pluginsDir]), CHORUS_PYTHON__ENVS_DIR: envsDir, CHORUS_DATA_DIR: dataDir };
  await setup("misbehaving-py");
  // A simulated 8 GB card: GPU profiles are placed (and run their CPU code).
  const gpu = JSON.stringify([{ name: "Simulated", totalMb: 8000 }]);
  server = await startServer({ pluginDirs: [pluginsDir], dataDir, env: { CHORUS_PYTHON__ENVS_DIR: envsDir, CHORUS_SCHEDULER__DEVICES__SIMULATED: gpu } });
});
afterAll(async () => {
  await server?.stop();
});

describe("Python engine containment", () => {
  it("keeps the protocol intact while the engine prints protocol-looking noise on stdout and stderr", async () => {
    const res = await speak(server, { engine: "misbehaving-py", text: words(5), options: { mode: "noise" } });
    expect(res.status).toBe(200);
    expect(res.bytes).toBe(5 * CHUNK_BYTES);
    // Each line is logged with the engine's id; the output pipes may be read after the response.
    await waitFor(() => logsOf("misbehaving-py").some((l) => l.stream === "stderr" && String(l.msg).includes("library chatter 4")), 5000, "stderr in the log");
    expect(logsOf("misbehaving-py").some((l) => l.stream === "stdout" && String(l.msg).includes('{"type":"result","id":1}'))).toBe(true);
  });

  it("resumes the request in flight when the Python process crashes mid-stream, on the restarted process", async () => {
    const res = await speak(server, { engine: "misbehaving-py", text: words(6), options: { mode: "crash", tag: "c1" } });
    // The pipeline resumed the request on the restarted engine: all the audio, none of it twice.
    expect(res.status, res.body.toString()).toBe(200);
    expect(res.bytes).toBe(6 * CHUNK_BYTES);
    expect(server.logs.some((l) => l.reason === "resumed_after_crash" && l.engine === "misbehaving-py")).toBe(true);
    await waitFor(() => logsOf("misbehaving-py").some((l) => l.reason === "restarted"), 10_000, "the restart");
    expect(logsOf("misbehaving-py").some((l) => l.reason === "worker_crash" && l.code === 3)).toBe(true);
    const after = await speak(server, { engine: "misbehaving-py", text: words(3) });
    expect(after).toMatchObject({ status: 200, rate: 16000, bytes: 3 * CHUNK_BYTES });
    expect(await healthy(server)).toBe(true);
  });

  it("resumes the request in flight when the Python process hangs mid-stream (no audio, no pong): killed, restarted, all the audio", async () => {
    const reference = await speak(server, { engine: "misbehaving-py", text: words(6) });
    expect(reference).toMatchObject({ status: 200, bytes: 6 * CHUNK_BYTES });
    const restartsBefore = logsOf("misbehaving-py").filter((l) => l.reason === "restarted").length;
    const mark = server.logs.length;
    // After 2 chunks the process blocks in a native call holding the GIL: no audio for chunkSeconds (3 s), then no pong (2 s).
    const started = Date.now();
    const res = await speak(server, { engine: "misbehaving-py", text: words(6), options: { mode: "hang", tag: "h1" } });
    const tookMs = Date.now() - started;
    expect(res.status, res.body.toString()).toBe(200);
    // All the audio, none of it twice (the delivered part of the re-made sentence is skipped).
    expect(Math.abs(res.bytes - reference.bytes) / reference.bytes).toBeLessThan(0.1);
    expect(res.bytes).toBe(reference.bytes);
    // The log lines come over the server's stdout, which may be read after the response.
    const resumed = await waitFor(
      () => server.logs.slice(mark).find((l) => l.reason === "resumed_after_hang" && l.engine === "misbehaving-py"),
      5000,
      "the resumed_after_hang decision",
    ).catch(async (err: Error) => {
      // What the server itself recorded (its decision log, not the stdout pipe), and how long the request took (a hang takes >= 5 s).
      const decisions = ((await (await fetch(`${server.url}/api/scheduler?decisions=30`)).json()) as { decisions: { reason: string }[] }).decisions.map(
        (d) => d.reason,
      );
      throw new Error(
        `${err.message}; request took ${tookMs} ms; logs since: ${JSON.stringify(server.logs.slice(mark).map((l) => [l.reason, l.msg]))}; of ${server.logs.length}; decisions: ${decisions.join(",")}`,
      );
    });
    const logs = server.logs.slice(mark);
    const unresponsive = logs.findIndex((l) => l.plugin === "misbehaving-py" && l.reason === "worker_unresponsive");
    expect(unresponsive).toBeGreaterThanOrEqual(0);
    expect(logs.slice(unresponsive).some((l) => l.plugin === "misbehaving-py" && l.reason === "worker_hang")).toBe(true);
    expect(resumed.action).toBe("fallback");
    // Whether the second chunk leaves the process before it stops depends on when the host's credit
    // reaches the synthesis thread, so 0.10 or 0.20 s were delivered; the byte count above proves
    // nothing is missing or repeated.
    expect(String(resumed.detail)).toMatch(/hung .*; resuming sentence 1 of 1, 0\.[12]0 s of it delivered on the restarted instance/);
    expect(logs.some((l) => l.reason === "resumed_after_crash")).toBe(false);
    // The request resumed on the same instance, whose process was restarted once.
    await waitFor(() => logsOf("misbehaving-py").filter((l) => l.reason === "restarted").length === restartsBefore + 1, 5000, "the restart");
    expect(logs.slice(unresponsive).some((l) => l.plugin === "misbehaving-py" && l.reason === "restart_scheduled")).toBe(true);
    const after = await speak(server, { engine: "misbehaving-py", text: words(2) });
    expect(after).toMatchObject({ status: 200, bytes: 2 * CHUNK_BYTES });
  });

  it("cancels the Python generator when the client goes away mid-stream", async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ engine: "misbehaving-py", text: words(200), format: "pcm", stream: true, options: { mode: "slow", tag: "k1", delayMs: 100 } }),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read(); // audio is flowing
    controller.abort();
    const marker = path.join(server.dataDir, "engines", "misbehaving-py", "closed-k1");
    await waitFor(() => fs.existsSync(marker), 10_000, "the Python generator's finally block");
  });

  it("re-places a request down the chain when Python raises OutOfMemoryError on the GPU, learning the size", async () => {
    const res = await fetch(`${server.url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ engine: "misbehaving-py", text: words(3), format: "pcm", options: { mode: "oom" } }),
    });
    expect(res.status).toBe(200);
    // The engine's own CPU profile spoke after its GPU profile ran out of memory.
    expect([res.headers.get("x-chorus-engine"), res.headers.get("x-chorus-profile")]).toEqual(["misbehaving-py", "cpu"]);
    expect((await res.arrayBuffer()).byteLength).toBe(3 * CHUNK_BYTES);
    // The scheduler learned the size Python reported (neededMb 3072) and re-placed the request.
    const oom = await waitFor(() => server.logs.find((l) => l.reason === "oom_synthesis" && l.engine === "misbehaving-py"), 5000, "the oom_synthesis decision");
    expect(String(oom.detail)).toContain("needs 3072 MB");
  });

  it("hot-swaps a Python plugin: the new version's code serves, from the same environment", async () => {
    const dir = path.join(pluginsDir, "swap-py");
    fs.cpSync(FIXTURE, dir, { recursive: true });
    const manifestFile = path.join(dir, "plugin.json");
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as Record<string, unknown>;
    fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, id: "swap-py" }));
    await waitFor(async () => (await engine(server, "swap-py"))?.state === "needs setup", 10_000, "swap-py to be listed");
    await setup("swap-py");
    const first = await speak(server, { engine: "swap-py", text: words(2) });
    expect(first).toMatchObject({ status: 200, rate: 16000 });
    const before = (await engine(server, "swap-py"))!.generation;
    fs.writeFileSync(path.join(dir, "engine.py"), fs.readFileSync(path.join(dir, "engine.py"), "utf8").replace("RATE = 16000", "RATE = 22050"));
    fs.writeFileSync(
      manifestFile,
      JSON.stringify({ ...manifest, id: "swap-py", version: "2.0.0", capabilities: { streaming: true, sampleRates: [22050], sentenceSplitting: "engine" } }),
    );
    const swapped = await waitFor(
      async () => {
        const e = await engine(server, "swap-py");
        return e?.version === "2.0.0" && e.state !== "needs setup" ? e : undefined;
      },
      10_000,
      "version 2.0.0",
    );
    expect(swapped.generation).toBeGreaterThan(before);
    const second = await speak(server, { engine: "swap-py", text: words(2) });
    expect(second).toMatchObject({ status: 200, rate: 22050, bytes: 2 * Math.floor(22050 / 20) * 2 });
  });

  it("chorus plugin check runs a Python plugin in its environment, step by step", async () => {
    const res = await runChorusAsync(["plugin", "check", path.join(pluginsDir, "misbehaving-py")], { env });
    expect(res.status, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^ok {3}python environment: .*misbehaving-py\/bin\/python$/m);
    expect(res.stdout).toMatch(/^ok {3}synthesis \(voice tone\)$/m);
    expect(res.stdout).toContain("misbehaving-py: all checks passed");
    const fresh = path.join(pluginsDir, "fresh-py");
    fs.cpSync(FIXTURE, fresh, { recursive: true });
    fs.writeFileSync(
      path.join(fresh, "plugin.json"),
      JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(fresh, "plugin.json"), "utf8")), id: "fresh-py" }),
    );
    const unset = await runChorusAsync(["plugin", "check", fresh], { env });
    expect(unset.status).toBe(1);
    expect(unset.stdout).toContain("FAIL python environment: engine 'fresh-py' needs setup (no environment yet); run: chorus plugin setup fresh-py");
  });
});
