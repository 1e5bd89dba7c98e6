/**
 * Defect 8 (issue 11): rejections made by Node's HTTP parser and fastify's router (400
 * "Client Error", 431, 414, FST_ERR_BAD_URL) answered in fastify's shape. Raw sockets against
 * a real listening server: every answer is `{"error":{"code","message","field"}}` (OpenAI's
 * shape under /v1).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChorus, type RunningChorus } from "../compat/server.ts";
import { tempDir } from "../helpers/temp.ts";
import { rawRequest } from "../helpers/raw-http.ts";

let chorus: RunningChorus;
beforeAll(async () => {
  chorus = await startChorus({}, { log: { level: "silent" }, dataDir: tempDir("fw-errors") });
});
afterAll(async () => {
  await chorus.close();
});

const port = () => Number(new URL(chorus.url).port);

describe("rejections below the routes are in the catalogue", () => {
  it.each([
    ["not HTTP at all", "GARBAGE\r\n\r\n", 400, "CHORUS_ERR_REQUEST_MALFORMED"],
    ["a header line without a colon", "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n", 400, "CHORUS_ERR_REQUEST_MALFORMED"],
    [
      "headers over the limit (16 KB + 12 bytes per text.maxLength character)",
      `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(80_000)}\r\n\r\n`,
      431,
      "CHORUS_ERR_REQUEST_HEADERS_TOO_LARGE",
    ],
    ["a badly encoded URL parameter", "GET /audio/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 400, "CHORUS_ERR_REQUEST_MALFORMED"],
    [
      "a path parameter over maxParamLength",
      `GET /audio/${"a".repeat(300)}.wav HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      414,
      "CHORUS_ERR_REQUEST_URI_TOO_LONG",
    ],
  ])("%s: %i %s", async (_name, bytes, status, code) => {
    const res = await rawRequest(port(), bytes);
    expect(res.status, res.head).toBe(status);
    expect(res.body).toMatchObject({ error: { code, message: expect.any(String) } });
    expect(Object.keys(res.body as object)).toEqual(["error"]);
  });

  it("an OpenAI client gets OpenAI's shape from the parser too", async () => {
    const res = await rawRequest(port(), "POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n");
    expect(res.status).toBe(400);
    // param null: the request as a whole, as OpenAI says for the whole body (not Chorus's "(request)")
    expect(res.body).toMatchObject({ error: { code: "request_malformed", type: "invalid_request_error", param: null } });
  });

  it("the server is still serving", async () => {
    expect((await fetch(`${chorus.url}/health`)).status).toBe(200);
  });
});
