/**
 * The web app's server side: the page and its assets (served without the API key, under a
 * CSP with no inline code and no other origin), /favicon.ico, /api/web/config, the default
 * voice in GET /api/voices, plugin reload, and GET /api/scheduler/events (server-sent
 * events from the scheduler's decision log), over a real listening server.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../core/server/app.ts";
import { testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";
// @ts-expect-error plain ES module
import { SseParser } from "../../core/web/js/sse.js";

const WEB = path.join(import.meta.dirname, "../../core/web");
const AUTH = { authorization: "Bearer sekrit" };
let app: FastifyInstance;
let base: string;
const host = testHost({ compat: { apiKey: "sekrit" }, dataDir: tempDir("web-routes"), text: { maxLength: 1234 } });
beforeAll(async () => {
  app = await buildApp(host);
  base = await app.listen({ port: 0, host: "127.0.0.1" });
});
afterAll(async () => {
  await app.close();
  await host.close();
});

/** Reads server-sent events until `until` says stop (or the stream ends). */
async function readEvents(res: Response, until: (events: { event: string; data: string }[]) => boolean) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  const events: { event: string; data: string }[] = [];
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    events.push(...parser.push(value));
  }
  await reader.cancel();
  return events;
}

describe("the page and its assets", () => {
  it("serves the page without the API key, under a CSP without inline code, while the API needs the key", async () => {
    const page = await app.inject("/");
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(page.body).toMatch(/<title>Chorus<\/title>/);
    expect(page.body).not.toMatch(/<script>(?!<)/); // no inline script
    expect((await app.inject("/api/engines")).statusCode).toBe(401);
    expect((await app.inject({ url: "/api/engines", headers: AUTH })).statusCode).toBe(200);
  });

  it("serves every file the page and its modules refer to, from Chorus itself (offline, no CDN)", async () => {
    const page = (await app.inject("/")).body;
    const refs = new Set([...page.matchAll(/(?:src|href)="(\/[^"#]*)"/g)].map((m) => m[1]!));
    const modules = fs.readdirSync(path.join(WEB, "js")).filter((f) => f.endsWith(".js"));
    for (const file of modules) {
      const code = fs.readFileSync(path.join(WEB, "js", file), "utf8");
      expect(code, file).not.toMatch(/https?:\/\/(?!github|www\.w3\.org\/2000\/svg")/); // no remote code or assets (the SVG namespace is a name, not a fetch)
      expect(code, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/); // server text goes in as text only
      for (const m of code.matchAll(/from "\.\/([^"]+)"/g)) refs.add(`/web/js/${m[1]}`);
    }
    expect(refs.has("/web/js/main.js")).toBe(true);
    for (const ref of refs) {
      const res = await app.inject(ref);
      expect(res.statusCode, ref).toBe(200);
      if (ref.endsWith(".js")) expect(res.headers["content-type"], ref).toBe("text/javascript; charset=utf-8");
    }
    expect(page).not.toMatch(/(src|href)="https?:/);
  });

  it("serves /favicon.ico as an icon (it was a 404 on every load)", async () => {
    const res = await app.inject("/favicon.ico");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("image/x-icon");
    expect([...res.rawPayload.subarray(0, 4)]).toEqual([0, 0, 1, 0]); // ICO header
  });

  it("serves nothing outside core/web", async () => {
    for (const url of ["/web/../package.json", "/web/%2e%2e/package.json", "/web/js/nope.js", "/web/", "/web/js/../../server/app.ts"]) {
      const res = await app.inject({ url, headers: AUTH });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toMatch(/"name": "chorus"|buildApp/);
    }
  });

  it("tells the page the text limit and formats, with the key", async () => {
    expect((await app.inject("/api/web/config")).statusCode).toBe(401);
    const config = (await app.inject({ url: "/api/web/config", headers: AUTH })).json();
    expect(config.textMaxLength).toBe(1234);
    expect(config.openaiMaxInput).toBe(4096);
    expect(config.formats).toContain("wav");
  });

  it("lists the fine-tune page's dataset folders (none configured here)", async () => {
    expect((await app.inject("/api/web/datasets")).statusCode).toBe(401);
    expect((await app.inject({ url: "/api/web/datasets", headers: AUTH })).json()).toEqual({ datasetDirs: [], folders: [] });
  });

  it("lists the engine's default voice with its voices", async () => {
    const res = (await app.inject({ url: "/api/voices?engine=espeak", headers: AUTH })).json();
    expect(res.details[0].id).toBe("af");
    expect(res.default).toBe("en-us");
    const engines = (await app.inject({ url: "/api/engines", headers: AUTH })).json();
    expect(engines.engines.find((e: { id: string }) => e.id === "espeak").defaultVoice).toBe("en-us");
  });
});

describe("GET /api/scheduler/events", () => {
  it("needs the API key", async () => {
    const res = await fetch(`${base}/api/scheduler/events`);
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });

  it("sends a snapshot at once, then each decision as it is made and fresh snapshots", async () => {
    const res = await fetch(`${base}/api/scheduler/events`, { headers: AUTH });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    let spoke = false;
    const events = await readEvents(res, (got) => {
      if (!spoke && got.some((e) => e.event === "snapshot")) {
        spoke = true;
        void fetch(`${base}/api/speech`, {
          method: "POST",
          headers: { ...AUTH, "content-type": "application/json" },
          body: JSON.stringify({ text: "Hi.", engine: "flite" }),
        }).then((r) => r.arrayBuffer());
      }
      const loaded = got.some((e) => e.event === "decision" && JSON.parse(e.data).reason === "loaded");
      return (
        loaded &&
        got
          .filter((e) => e.event === "snapshot")
          .some((e) => JSON.parse(e.data).plugins.some((p: { id: string; state: string }) => p.id === "flite" && p.state === "loaded"))
      );
    });
    const first = JSON.parse(events[0]!.data);
    expect(events[0]!.event).toBe("snapshot");
    expect(first.scheduler.devices.map((d: { id: string }) => d.id)).toContain("cpu");
    expect(first.plugins.find((p: { id: string }) => p.id === "flite")).toMatchObject({ state: "available", default: false });
    const decisions = events.filter((e) => e.event === "decision").map((e) => JSON.parse(e.data));
    expect(decisions).toContainEqual(expect.objectContaining({ action: "load", reason: "fits", engine: "flite", summary: "fits in free memory" }));
    const last = JSON.parse(events.filter((e) => e.event === "snapshot").at(-1)!.data);
    expect(last.scheduler.engines).toContainEqual(expect.objectContaining({ engine: "flite", state: "ready", device: "cpu" }));
  });

  it("shows a plugin that needs setup as such, with the command (it showed 'available' and offered 'Make default')", async () => {
    expect(host.registry.needsSetup(host.registry.get("xtts")!)).toBeDefined(); // a Python engine, no environment in this data folder
    const res = await fetch(`${base}/api/scheduler/events`, { headers: AUTH });
    const [snapshot] = await readEvents(res, (got) => got.some((e) => e.event === "snapshot"));
    const xtts = JSON.parse(snapshot!.data).plugins.find((p: { id: string }) => p.id === "xtts");
    expect(xtts.state).toBe("needs setup"); // as GET /api/engines says
    expect(xtts.errors).toContainEqual(expect.stringContaining("run chorus plugin setup xtts"));
    const engines = (await app.inject({ url: "/api/engines", headers: AUTH })).json().engines;
    expect(engines.find((e: { id: string }) => e.id === "xtts").state).toBe(xtts.state);
  });

  it("reloads a plugin: its folder is re-read and its instances unloaded", async () => {
    // a speech request loads the engine (a voice listing may be answered without loading it)
    expect((await app.inject({ method: "POST", url: "/api/speech", headers: AUTH, payload: { text: "Hi.", engine: "espeak" } })).statusCode).toBe(200);
    const res = await app.inject({ method: "POST", url: "/api/engines/espeak/reload", headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ engine: "espeak", unloading: 1, plugin: { id: "espeak", errors: [] } });
    expect((await app.inject({ method: "POST", url: "/api/engines/nope/reload", headers: AUTH })).json().error).toMatchObject({
      code: "CHORUS_ERR_ENGINE_NOT_FOUND",
      field: "engine",
    });
  });
});
