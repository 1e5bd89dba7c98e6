/**
 * A body the route cannot read (415) or over server.bodyLimit (413) is explained: what was
 * sent and what to send, or the limit, on every surface in its own shape. fastify's own words
 * were "Unsupported Media Type" and "Request body is too large", which left `curl -d` users
 * (a form by default) guessing.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";

let host: Host;
let app: FastifyInstance;
beforeAll(async () => {
  host = testHost({ server: { bodyLimit: 2000 }, dataDir: tempDir("body-errors") });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

const post = (url: string, payload: string, contentType?: string) =>
  app.inject({ method: "POST", url, payload, headers: contentType ? { "content-type": contentType } : {} });

describe("415: what was sent, what to send", () => {
  it("native /api/speech with curl -d's form", async () => {
    const res = await post("/api/speech", "text=hi", "application/x-www-form-urlencoded");
    expect(res.statusCode).toBe(415);
    expect(res.json().error).toEqual({
      code: "CHORUS_ERR_REQUEST_MEDIA_TYPE",
      message: "Content-Type 'application/x-www-form-urlencoded' is not accepted here; send JSON with Content-Type: application/json",
      field: "(body)",
    });
  });

  it("OpenAI with text/plain, in OpenAI's shape", async () => {
    const res = await post("/v1/audio/speech", '{"input":"hi","voice":"alloy"}', "text/plain");
    expect(res.statusCode).toBe(415);
    expect(res.json().error).toMatchObject({
      code: "request_media_type",
      param: null,
      message: "Content-Type 'text/plain' is not accepted here; send JSON with Content-Type: application/json",
    });
  });

  it("a body without a Content-Type", async () => {
    const res = await app.inject({ method: "POST", url: "/api/speech", payload: Buffer.from('{"text":"hi"}') });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.message).toBe("a body without a Content-Type is not accepted here; send JSON with Content-Type: application/json");
  });

  it("AllTalk's tts-generate names the forms it reads", async () => {
    const res = await post("/api/tts-generate", "text_input=hi", "text/plain");
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({
      status: "generate-failure",
      error: {
        code: "CHORUS_ERR_REQUEST_MEDIA_TYPE",
        message: expect.stringContaining("send a form (application/x-www-form-urlencoded or multipart/form-data) or JSON"),
      },
    });
  });
});

describe("413: the limit", () => {
  const big = JSON.stringify({ text: "word ".repeat(1000) });
  it.each([
    ["/api/speech", (b: Record<string, unknown>) => b.error],
    ["/v1/audio/speech", (b: Record<string, unknown>) => b.error],
    ["/api/tts-generate", (b: Record<string, unknown>) => b.error],
    ["/tts_to_audio/", (b: Record<string, unknown>) => ({ message: b.detail, code: b.code })],
  ])("%s", async (url, error) => {
    const res = await post(url, big, "application/json");
    expect(res.statusCode).toBe(413);
    expect(error(res.json())).toMatchObject({ message: "the body is larger than server.bodyLimit (2000 bytes)" });
  });
});
