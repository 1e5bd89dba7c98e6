/**
 * Defect 5 (issue 11): DNS rebinding. A page on evil.example rebound to 127.0.0.1 sends
 * `Host: evil.example:7851`; every route must refuse it (GET routes included), and public
 * listings must not show absolute folder paths.
 */
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHORUS_ROOT } from "../../core/config/load.ts";
import type { Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { hostAllowed } from "../../core/server/host-check.ts";
import { testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";

let host: Host;
let app: FastifyInstance;
let outside: string;
beforeAll(async () => {
  // a plugin folder outside the Chorus folder, as users keep them
  outside = tempDir("host-plugins");
  fs.cpSync(path.join(import.meta.dirname, "..", "hotswap", "fixtures", "tone"), path.join(outside, "tone"), { recursive: true });
  host = testHost({
    log: { level: "silent" },
    dataDir: tempDir("host-data"),
    engines: { dirs: ["engines", outside] },
    server: { allowedHosts: ["chorus.lan"] },
  });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

const ROUTES = [
  "/api/engines",
  "/api/scheduler",
  "/metrics",
  "/health",
  "/api/voices",
  "/api/tts-generate-streaming?text=hi&voice=a&language=en&output_file=x",
  "/api/ready",
  "/",
  "/no/such/route",
];

describe("Host header check", () => {
  it.each(ROUTES)("GET %s with Host evil.example:7851: 403 CHORUS_ERR_HOST_FORBIDDEN", async (url) => {
    const res = await app.inject({ method: "GET", url, headers: { host: "evil.example:7851", origin: "http://evil.example:7851" } });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({ code: "CHORUS_ERR_HOST_FORBIDDEN", field: "Host" });
  });

  it("POST routes too; /v1 answers in OpenAI's shape", async () => {
    const speech = await app.inject({ method: "POST", url: "/api/speech", headers: { host: "evil.example" }, payload: { text: "hi" } });
    expect(speech.statusCode).toBe(403);
    const v1 = await app.inject({ method: "GET", url: "/v1/models", headers: { host: "evil.example" } });
    expect(v1.statusCode).toBe(403);
    expect(v1.json().error).toMatchObject({ code: "host_forbidden", type: "invalid_request_error" });
  });

  it.each(["127.0.0.1:7851", "localhost:7851", "LOCALHOST", "[::1]:7851", "app.localhost", "192.168.1.20:7851", "chorus.lan:7851", "chorus.lan."])(
    "Host %s is served",
    async (h) => {
      const res = await app.inject({ method: "GET", url: "/health", headers: { host: h } });
      expect(res.statusCode).toBe(200);
    },
  );

  it("the pure check: names, ports, case, the wildcard", () => {
    expect(hostAllowed("evil.example", [])).toBe(false);
    expect(hostAllowed("localhost.evil.example", [])).toBe(false);
    expect(hostAllowed("127.0.0.1.nip.io", [])).toBe(false);
    expect(hostAllowed("evil.example", ["*"])).toBe(true);
    expect(hostAllowed("Chorus.LAN:80", ["chorus.lan"])).toBe(true);
    expect(hostAllowed("bad host", [])).toBe(false);
  });
});

describe("public listings show no absolute paths", () => {
  it("GET /api/engines: folders relative to Chorus or named by their config entry", async () => {
    const res = await app.inject("/api/engines");
    expect(res.statusCode).toBe(200);
    const engines = res.json().engines as { id: string; dir: string }[];
    expect(engines.find((e) => e.id === "espeak")?.dir).toBe(path.join("engines", "espeak"));
    expect(engines.find((e) => e.id === "tone")?.dir).toBe("<engines.dirs[1]>/tone");
    expect(res.body).not.toContain(CHORUS_ROOT);
    expect(res.body).not.toContain(outside);
    for (const e of engines) expect(path.isAbsolute(e.dir)).toBe(false);
  });
});
