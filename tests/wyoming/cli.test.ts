/**
 * The Wyoming surface in real processes: `chorus serve` with `wyoming.enabled` (set through
 * CHORUS_WYOMING__* variables) serves Wyoming beside HTTP and follows plugins as their
 * folders come and go; `chorus wyoming` runs only the Wyoming server. Both stop on SIGTERM.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, tempDir, waitFor, type TestServer } from "../hotswap/server.ts";
import { CHORUS_BIN } from "../helpers/process.ts";
import { audioGroups, WyomingClient } from "./client.ts";

async function voiceNames(port: number): Promise<string[]> {
  const client = await WyomingClient.connect(port);
  client.send("describe");
  const [info] = await client.until("info");
  client.close();
  return (info!.data.tts as { voices: { name: string }[] }[])[0]!.voices.map((v) => v.name);
}

describe("chorus serve with wyoming.enabled", () => {
  let server: TestServer;
  let pluginsDir: string;
  let port: number;
  beforeAll(async () => {
    pluginsDir = tempDir("wyoming-plugins");
    server = await startServer({ pluginDirs: [pluginsDir], env: { CHORUS_WYOMING__ENABLED: "true", CHORUS_WYOMING__PORT: "0" } });
    const line = server.logs.find((l) => l.msg === "wyoming listening");
    port = Number(/:(\d+)$/.exec(String(line?.uri))?.[1]);
  }, 60_000);
  afterAll(() => server?.stop());

  it("listens on loopback beside HTTP and lists the engines' voices", async () => {
    expect(String(server.logs.find((l) => l.msg === "wyoming listening")?.uri)).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const names = await waitFor(
      async () => {
        const all = await voiceNames(port);
        return all.includes("espeak:en-us") && all.includes("flite:slt") ? all : undefined;
      },
      30_000,
      "the eSpeak and Flite voices",
    );
    expect(names.some((n) => n.startsWith("piper"))).toBe(true);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it("lists a plugin's voices once its folder is copied in, and drops them when it is removed", async () => {
    const dir = path.join(pluginsDir, "tonal");
    fs.cpSync(path.join(import.meta.dirname, "fixtures/plugins/tonal"), dir, { recursive: true });
    await waitFor(async () => (await voiceNames(port)).includes("tonal:shifting"), 30_000, "the tonal voices");
    const client = await WyomingClient.connect(port);
    client.send("synthesize", { text: "One two three four.", voice: { name: "tonal:steady", speaker: null } });
    const [group] = audioGroups(await client.until("audio-stop"));
    client.close();
    expect(group!.pcm.length).toBe(16000 * 0.05 * 4);
    fs.rmSync(dir, { recursive: true, force: true });
    await waitFor(async () => !(await voiceNames(port)).some((n) => n.startsWith("tonal")), 30_000, "the tonal voices to go");
  });
});

describe("chorus wyoming", () => {
  it("runs only the Wyoming server and stops on SIGTERM", async () => {
    const dataDir = tempDir("wyoming-cli");
    const child = spawn(process.execPath, [CHORUS_BIN, "wyoming", "--port", "0"], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CHORUS_DATA_DIR: dataDir, CHORUS_LOG__LEVEL: "warn", CHORUS_SCHEDULER__DEVICES__GPUS: "off" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    try {
      const port = await waitFor(
        () => Number(/Wyoming server on tcp:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]) || undefined,
        60_000,
        "the Wyoming server line",
      );
      const client = await WyomingClient.connect(port);
      client.send("synthesize", { text: "Hello from the command line." }, "inline");
      const events = await client.until("audio-stop");
      client.close();
      expect(audioGroups(events)[0]!.pcm.length / 22050).toBeGreaterThan(0.8);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  }, 90_000);
});
