/** CORS (browser clients), the optional API key, trailing slashes and output retention. */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRetention, outputFileName, sanitizeOutputName } from "../../core/server/alltalk/files.ts";
import { originMatcher } from "../../core/server/cors.ts";
import { startChorus, type RunningChorus } from "./server.ts";
import { tempDir } from "../helpers/temp.ts";

describe("CORS with the default origins (localhost)", () => {
  let chorus: RunningChorus;
  beforeAll(async () => (chorus = await startChorus()));
  afterAll(async () => chorus?.close());

  it("answers a SillyTavern preflight from localhost", async () => {
    const res = await fetch(`${chorus.url}/api/tts-generate`, {
      method: "OPTIONS",
      headers: {
        Origin: "http://localhost:8000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,cache-control,content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:8000");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("cache-control");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
  });

  it("a page on another origin can read every documented response header", async () => {
    const res = await fetch(`${chorus.url}/api/speech`, {
      method: "POST",
      headers: { Origin: "http://localhost:8000", "Content-Type": "application/json" },
      body: JSON.stringify({ text: "Hi.", engine: "flite", pitch: 2 }),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(res.headers.get("x-chorus-ignored")).toBe("pitch");
    const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/,\s*/);
    for (const h of [
      "x-chorus-engine",
      "x-chorus-voice",
      "x-sample-rate",
      "x-chorus-fallback",
      "x-chorus-clamped",
      "x-chorus-ignored",
      "content-disposition",
      "retry-after",
    ]) {
      expect(exposed, h).toContain(h);
    }
  });

  it("allows the origin on real responses and refuses other origins", async () => {
    const ok = await fetch(`${chorus.url}/api/ready`, { headers: { Origin: "http://127.0.0.1:5000" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:5000");
    const other = await fetch(`${chorus.url}/api/ready`, { headers: { Origin: "http://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const pre = await fetch(`${chorus.url}/api/ready`, {
      method: "OPTIONS",
      headers: { Origin: "http://evil.example", "Access-Control-Request-Method": "GET" },
    });
    expect(pre.status).toBe(403);
    expect((await pre.json()).error).toMatchObject({ code: "CHORUS_ERR_ORIGIN_FORBIDDEN", field: "Origin" });
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("refuses state changes from a foreign page (simple POSTs need no preflight), not from its own origin", async () => {
    const before = (await (await fetch(`${chorus.url}/health`)).json()).defaultEngine;
    const evil = await fetch(`${chorus.url}/api/engines/flite/activate`, { method: "POST", headers: { Origin: "http://evil.example" } });
    expect(evil.status).toBe(403);
    expect((await evil.json()).error.code).toBe("CHORUS_ERR_ORIGIN_FORBIDDEN");
    const form = await fetch(`${chorus.url}/api/tts-generate`, {
      method: "POST",
      headers: { Origin: "null", "content-type": "application/x-www-form-urlencoded" },
      body: "text_input=hi",
    });
    expect(form.status).toBe(403);
    expect((await (await fetch(`${chorus.url}/health`)).json()).defaultEngine).toBe(before);
    // The server's own origin (e.g. reached by a LAN address) and clients without Origin are fine.
    const own = await fetch(`${chorus.url}/api/speech`, {
      method: "POST",
      headers: { Origin: chorus.url, "content-type": "application/json" },
      body: JSON.stringify({ text: "Hi." }),
    });
    expect(own.status).toBe(200);
    const allowed = await fetch(`${chorus.url}/api/speech`, {
      method: "POST",
      headers: { Origin: "http://localhost:8000", "content-type": "application/json" },
      body: JSON.stringify({ text: "Hi." }),
    });
    expect(allowed.status).toBe(200);
    // Same origin is judged on addresses (default ports normalised), never on a name that
    // an attacker's page could have rebound to this machine (DNS rebinding).
    const post = (origin: string, host: string) => chorus.app.inject({ method: "POST", url: "/api/engines/espeak/activate", headers: { origin, host } });
    expect((await post("http://192.168.1.20:7851", "192.168.1.20:7851")).statusCode).toBe(200);
    expect((await post("http://192.168.1.20", "192.168.1.20:80")).statusCode).toBe(200);
    expect((await post("http://[::1]:7851", "[::1]:7851")).statusCode).toBe(200);
    expect((await post("http://evil.example", "evil.example")).statusCode).toBe(403);
    expect((await post("http://192.168.1.20:9999", "192.168.1.20:7851")).statusCode).toBe(403);
  });

  it("paths work with and without a trailing slash", async () => {
    for (const url of ["/api/ready", "/api/ready/", "/v1/models", "/v1/models/", "/api/currentsettings/"]) {
      expect((await fetch(`${chorus.url}${url}`)).status).toBe(200);
    }
    const body = new URLSearchParams({ voice: "en-us" });
    for (const url of ["/api/previewvoice", "/api/previewvoice/"]) {
      expect((await fetch(`${chorus.url}${url}`, { method: "POST", body })).status).toBe(200);
    }
  });

  it("origin patterns", () => {
    const m = originMatcher(["http://localhost:*", "https://app.example.com"]);
    expect([m("http://localhost:8000"), m("http://localhost:1/x"), m("https://app.example.com"), m("https://app.example.com.evil.io")]).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect(originMatcher(["*"])("http://anything")).toBe(true);
  });
});

describe("API key", () => {
  let chorus: RunningChorus;
  beforeAll(async () => (chorus = await startChorus({ apiKey: "s3cret" })));
  afterAll(async () => chorus?.close());

  it("/health stays open; every other route needs the key", async () => {
    expect((await fetch(`${chorus.url}/health`)).status).toBe(200);
    const openai = await fetch(`${chorus.url}/v1/audio/speech`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer " },
      body: "{}",
    });
    expect(openai.status).toBe(401);
    expect((await openai.json()).error).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
    const native = await fetch(`${chorus.url}/api/engines`, { headers: { authorization: "Bearer wrong" } });
    expect(native.status).toBe(401);
    expect((await native.json()).error).toMatchObject({ code: "CHORUS_ERR_UNAUTHORIZED", field: "Authorization" });
    expect((await fetch(`${chorus.url}/api/ready`)).status).toBe(401);
    expect((await fetch(`${chorus.url}/api/ready`, { headers: { authorization: "Bearer s3cret" } })).status).toBe(200);
    const preflight = await fetch(`${chorus.url}/v1/audio/speech`, {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "POST" },
    });
    expect(preflight.status).toBe(204);
  });
});

describe("output files", () => {
  it("sanitises names", () => {
    expect(["../../etc/passwd", "/abs/path", "C:\\win\\evil.wav", "ok name!.wav", "", "..", "st_output"].map(sanitizeOutputName)).toEqual([
      "passwd",
      "path",
      "evil",
      "ok_name",
      "chorus_output",
      "chorus_output",
      "st_output",
    ]);
    expect(outputFileName("x", true, new Date(2024, 0, 2, 3, 4, 5))).toMatch(/^x_20240102-030405_[0-9a-f]{6}\.wav$/);
  });

  it("retention deletes old files, then the oldest while over the size limit", async () => {
    const dir = tempDir("outputs");
    const now = Date.now();
    const make = (name: string, ageMin: number, kb: number) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, Buffer.alloc(kb * 1024));
      fs.utimesSync(file, new Date(now - ageMin * 60_000), new Date(now - ageMin * 60_000));
    };
    make("ancient.wav", 120, 1);
    make("old.wav", 30, 400);
    make("mid.wav", 20, 400);
    make("new.wav", 1, 400);
    fs.writeFileSync(path.join(dir, "notes.txt"), "not ours");
    const { deleted } = await applyRetention(dir, { maxAgeMinutes: 60, maxTotalMb: 1 }, "new.wav", now);
    expect(deleted).toEqual(["ancient.wav", "old.wav"]);
    expect(fs.readdirSync(dir).sort()).toEqual(["mid.wav", "new.wav", "notes.txt"]);
    fs.rmSync(dir, { recursive: true });
  });
});
