/**
 * Runtime engine switching through all three routes (native activate, AllTalk-style reload,
 * `chorus use`), with per-request choice unaffected, and the choice surviving a restart.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { until } from "../helpers/wait.ts";
import { engines, startServer, tempDir, type TestServer } from "./server.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const dataDir = tempDir("switch-data");
const pluginsDir = tempDir("switch-plugins");
let server: TestServer;

afterAll(async () => {
  await server?.stop();
});

const post = (url: string) => fetch(`${server.url}${url}`, { method: "POST" });
const defaultEngine = async () => (await engines(server)).default;

async function speakDefault(engine?: string): Promise<string | null> {
  const res = await fetch(`${server.url}/api/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "Switch.", engine }),
  });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  return res.headers.get("x-chorus-engine");
}

describe("runtime engine switching", () => {
  it("POST /api/engines/:id/activate changes the default; requests may still name an engine", async () => {
    server = await startServer({ pluginDirs: [pluginsDir], dataDir });
    expect(await defaultEngine()).toBe("espeak");
    const res = await post("/api/engines/flite/activate");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ default: "flite", previous: "espeak" });
    expect(await defaultEngine()).toBe("flite");
    expect((await engines(server)).engines.find((e) => e.id === "flite")).toMatchObject({ default: true });
    expect(await speakDefault()).toBe("flite");
    expect(await speakDefault("espeak")).toBe("espeak");
    const health = (await (await fetch(`${server.url}/health`)).json()) as { defaultEngine: string };
    expect(health.defaultEngine).toBe("flite");
  });

  it("refuses unknown engines without changing the default", async () => {
    const res = await post("/api/engines/nope/activate");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("CHORUS_ERR_ENGINE_NOT_FOUND");
    expect((await post("/api/reload?tts_method=nope")).status).toBe(404);
    expect(await defaultEngine()).toBe("flite");
  });

  it("POST /api/reload?tts_method=ID (AllTalk) switches and loads the engine", async () => {
    const res = await post("/api/reload?tts_method=espeak");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "model-success" });
    expect(await defaultEngine()).toBe("espeak");
    expect(await speakDefault()).toBe("espeak");
    const warm = await post("/api/engines/flite/activate?load=true");
    expect(await warm.json()).toEqual({ default: "flite", previous: "espeak" });
    expect((await engines(server)).engines.find((e) => e.id === "flite")).toMatchObject({ state: "loaded", default: true });
    expect((await post("/api/engines/espeak/activate")).status).toBe(200);
  });

  it("`chorus use ID` switches a running server too", async () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, "core/cli/chorus.mjs"), "use", "flite"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, CHORUS_DATA_DIR: dataDir, CHORUS_ENGINES__DIRS: JSON.stringify(["engines", pluginsDir]) },
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("default engine: flite (was espeak)");
    // the server watches its state file (a stat every 250 ms): the choice arrives shortly after
    await until(async () => (await defaultEngine()) === "flite", "the running server's default to become flite");
  });

  it("keeps the choice across a restart", async () => {
    await server.stop();
    server = await startServer({ pluginDirs: [pluginsDir], dataDir });
    expect(await defaultEngine()).toBe("flite");
    expect(await speakDefault()).toBe("flite");
  });
});
