/**
 * What a new user meets on the command line: client commands find the server from the same
 * configuration as `serve`, a busy port is one line, server errors carry one code, usage
 * errors print the relevant usage line, `chorus engines` shows state.
 */
import http from "node:http";
import net from "node:net";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, runChorusAsync } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** A stand-in server speaking the routes the CLI calls, recording what it was sent. */
let server: http.Server;
let port: number;
const seen: { url: string; authorization?: string }[] = [];
beforeAll(async () => {
  port = await freePort();
  server = http.createServer((req, res) => {
    seen.push({ url: String(req.url), authorization: req.headers.authorization });
    res.setHeader("content-type", "application/json");
    if (req.url?.startsWith("/api/scheduler?")) return res.end(JSON.stringify({ devices: [], engines: [], decisions: [] }));
    if (req.url === "/api/engines" && req.headers.authorization === "Bearer wrong") {
      res.statusCode = 401;
      return res.end(JSON.stringify({ error: { code: "CHORUS_ERR_UNAUTHORIZED", message: "wrong key" } }));
    }
    if (req.url === "/api/engines")
      return res.end(
        JSON.stringify({
          default: "flite",
          engines: [
            { id: "espeak", state: "loaded" },
            { id: "flite", state: "available" },
          ],
        }),
      );
    res.statusCode = 404;
    res.end(JSON.stringify({ error: { code: "CHORUS_ERR_ENGINE_NOT_FOUND", message: "no engine 'nosuch'", field: "engine" } }));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const env = (extra: Record<string, string> = {}) => ({ CHORUS_DATA_DIR: tempDir("cli-usage"), CHORUS_SERVER__PORT: String(port), ...extra });

describe("chorus CLI for a new user", () => {
  it("engine status talks to the configured port and sends the configured API key", async () => {
    seen.length = 0;
    const res = await runChorusAsync(["engine", "status"], { env: env({ CHORUS_COMPAT__APIKEY: "s3cret" }) });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain("Devices:");
    expect(seen).toEqual([{ url: "/api/scheduler?decisions=10", authorization: "Bearer s3cret" }]);
  });

  it("engine unload of an unknown engine prints the server's one code", async () => {
    const res = await runChorusAsync(["engine", "unload", "nosuch"], { env: env() });
    expect(res.status).toBe(1);
    expect(res.stderr).toBe("chorus: no engine 'nosuch' (HTTP 404) [CHORUS_ERR_ENGINE_NOT_FOUND]\n");
  });

  it("serve on a busy port says so in one line", async () => {
    const busy = net.createServer();
    const busyPort = await freePort();
    await new Promise<void>((resolve) => busy.listen(busyPort, "127.0.0.1", resolve));
    try {
      const res = await runChorusAsync(["serve", "--port", String(busyPort)], { env: { CHORUS_DATA_DIR: tempDir("busy"), CHORUS_LOG__LEVEL: "silent" } });
      expect(res.status).toBe(1);
      expect(res.stderr).toBe(
        `chorus: port ${busyPort} on 127.0.0.1 is already in use (another Chorus or AllTalk?); stop that program or choose another with --port N (npm start -- --port N) or CHORUS_SERVER__PORT=N\n`,
      );
    } finally {
      busy.close();
    }
  });

  it("a usage error prints the command's usage line and chorus help CMD, not the whole help", async () => {
    const res = await runChorusAsync(["say", "hi", "--speed", "fast", "-o", "/dev/null"], { env: env() });
    expect(res.status).toBe(2);
    const lines = res.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("chorus: --speed must be a number, got 'fast'");
    expect(lines[1]).toMatch(/^Usage: chorus say TEXT/);
    expect(lines.at(-1)).toBe("(see chorus help say)");
    expect(lines.length).toBeLessThanOrEqual(4);
    const engine = await runChorusAsync(["engine", "lowvram", "x", "maybe"], { env: env() });
    expect(engine.status).toBe(2);
    expect(engine.stderr).toContain("chorus: engine lowvram needs on or off (got 'maybe')");
    expect(engine.stderr).toContain("(see chorus help engine)");
    expect(engine.stderr).not.toContain("plugin new");
  });

  it("both setup commands refuse a --torch that is not a build, before any work, with the usage naming the choices", async () => {
    for (const args of [
      ["plugin", "setup", "nosuch", "--torch", "rocm"],
      ["finetune", "setup", "--torch", "rocm", "--dry-run"],
    ]) {
      const res = await runChorusAsync(args, { env: env() });
      expect(res.status, res.stderr).toBe(2);
      expect(res.stderr).toMatch(/^chorus( finetune setup)?: --torch must be cpu, cuda or auto \(got 'rocm'\)\n/);
      expect(res.stderr).toContain("[--torch cpu|cuda|auto]");
    }
  });

  it("say takes engine:voice and says when the engine ignored or clamped pitch", async () => {
    const out = `${tempDir("say")}/x.flac`;
    const flite = await runChorusAsync(["say", "Hello there.", "--voice", "flite:awb", "--pitch", "2", "--format", "flac", "-o", out], { env: env() });
    expect(flite.status, flite.stderr).toBe(0);
    expect(flite.stderr).toMatch(/^wrote .*x\.flac: \d+\.\d\d s at 16000 Hz \(flite\/awb\)\nnote: --pitch ignored: engine 'flite' does not support it\n$/);
    expect(fs.readFileSync(out).toString("ascii", 0, 4)).toBe("fLaC");
    const espeak = await runChorusAsync(["say", "Hello.", "--voice", "fr", "--pitch", "4", "-o", "/dev/null"], { env: env() });
    expect(espeak.stderr).toContain("(espeak/fr-fr)");
    expect(espeak.stderr).toContain("note: --pitch clamped to 2, the most engine 'espeak' can do");
  });

  it("chorus help CMD prints one command's usage", async () => {
    const res = await runChorusAsync(["help", "engine"], { env: env() });
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^Usage: chorus engine status/);
    expect(res.stdout).toContain("engine keepalive ID SECONDS");
    expect(res.stdout).not.toContain("say TEXT");
    const unknown = await runChorusAsync(["help", "dance"], { env: env() });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("no command 'dance'");
  });

  it("--help and the README say that serve takes --port and --host (also through npm start)", async () => {
    const res = await runChorusAsync(["--help"], { env: env() });
    expect(res.stdout).toContain("serve [--host H] [--port N]");
    expect(res.stdout).toContain("npm start -- --port N");
    expect(fs.readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain("npm start -- --port 8000");
  });

  it("engines shows each engine's state, from the running server when one answers", async () => {
    const res = await runChorusAsync(["engines"], { env: env() });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^ {2}espeak\s+loaded\s+1\.0\.0/m);
    expect(res.stdout).toMatch(/^\* flite\s+available\s+1\.0\.0/m);
    expect(res.stdout).toContain(`state from the server at http://127.0.0.1:${port}`);
    const refused = await runChorusAsync(["engines"], { env: env({ CHORUS_COMPAT__APIKEY: "wrong" }) });
    expect(refused.stdout).toContain(`the server at http://127.0.0.1:${port} wants an API key (compat.apiKey`);
    const alone = await runChorusAsync(["engines", "--json"], { env: env({ CHORUS_SERVER__PORT: String(await freePort()) }) });
    const list = JSON.parse(alone.stdout) as { source: string; engines: { id: string; state: string; default: boolean }[] };
    expect(list.source).toBe("manifests");
    expect(list.engines.find((e) => e.id === "espeak")).toMatchObject({ state: "available", default: true });
  });
});
