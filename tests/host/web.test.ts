/**
 * The web page at GET /: served as HTML (also when an API key is set; its own calls send
 * the key), and every API route its script calls exists.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../core/server/app.ts";
import { testHost } from "../helpers/host.ts";

let app: FastifyInstance;
const host = testHost({ compat: { apiKey: "sekrit" } });
beforeAll(async () => {
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

describe("GET /", () => {
  it("serves the page without the API key, while the API needs it", async () => {
    const page = await app.inject("/");
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'self'/);
    expect(page.body).toMatch(/<title>Chorus<\/title>/);
    expect((await app.inject("/api/engines")).statusCode).toBe(401);
    expect((await app.inject({ url: "/api/engines", headers: { authorization: "Bearer sekrit" } })).statusCode).toBe(200);
  });

  it("calls only routes that exist, with the methods it uses", async () => {
    const body = (await app.inject("/")).body;
    const calls = [
      ["GET", "/health", 'fetch("/health")'],
      ["GET", "/api/engines", 'api("/api/engines")'],
      ["GET", "/api/voices", "api(`/api/voices?engine="],
      ["POST", "/api/speech", 'api("/api/speech", { method: "POST"'],
      ["POST", "/api/engines/:id/activate", 'api(`/api/engines/${encodeURIComponent(id)}/activate?load=true`, { method: "POST" })'],
    ] as const;
    for (const [method, route, call] of calls) {
      expect(body, call).toContain(call);
      expect(app.hasRoute({ method, url: route }), `${method} ${route}`).toBe(true);
    }
    expect(body).not.toMatch(/innerHTML/); // server text goes in as textContent only
  });
});
