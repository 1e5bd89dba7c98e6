/**
 * Fuzz below the routes (issue 11 guarantee): seeded raw byte streams to a listening server —
 * broken request lines, header lines, chunked bodies, oversized headers. Property: whatever
 * answers is a complete response whose error body is in the catalogue's shape (OpenAI's when
 * the request line named /v1), never a 5xx, and the server keeps answering /health.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChorus, type RunningChorus } from "../compat/server.ts";
import { rawRequest } from "../helpers/raw-http.ts";
import { tempDir } from "../helpers/temp.ts";
import { catalogueShaped } from "./arbitraries.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 7);
const RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 300);

let chorus: RunningChorus;
beforeAll(async () => {
  chorus = await startChorus({}, { log: { level: "silent" }, dataDir: tempDir("fuzz-http") });
});
afterAll(async () => {
  chorus.app.server.closeAllConnections();
  await chorus.close();
});

const token = fc.constantFrom("GET", "POST", "PUT", "BREW", "G ET", "", "get");
const target = fc.constantFrom(
  "/health",
  "/api/speech",
  "/v1/audio/speech",
  "/audio/%E0%A4%A",
  "*",
  "http://x/",
  "/%",
  `/${"a".repeat(300)}`,
  "/api/engines?x=%ZZ",
);
const version = fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/9.9", "HTTP/1.1 extra", "");
const headerLine = fc.oneof(
  fc.constantFrom(
    "Host: 127.0.0.1",
    "Content-Length: 5",
    "Content-Length: -1",
    "Content-Length: 1, 2",
    "Transfer-Encoding: chunked",
    "Transfer-Encoding: gzip, chunked",
    "Bad Header",
    ": empty",
    "X: \u0000",
    `X-Big: ${"b".repeat(17_000)}`,
    "Content-Type: application/json",
  ),
  fc.string({ unit: "binary-ascii", maxLength: 40 }),
);
const rawRequestBytes = fc
  .tuple(
    token,
    target,
    version,
    fc.array(headerLine, { maxLength: 5 }),
    fc.oneof(fc.constant(""), fc.string({ maxLength: 30 }), fc.constantFrom("5\r\nhello\r\n0\r\n\r\n", "zz\r\n", '{"text":"hi"}')),
  )
  .map(([m, t, v, h, b]) => `${m} ${t} ${v}\r\n${["Connection: close", ...h].join("\r\n")}\r\n\r\n${b}`);

describe("fuzz: the HTTP parser and router", () => {
  it(`malformed requests get catalogue errors and the server lives (seed ${SEED}, ${RUNS} requests)`, async () => {
    const port = Number(new URL(chorus.url).port);
    await fc.assert(
      fc.asyncProperty(rawRequestBytes, async (bytes) => {
        const res = await rawRequest(port, bytes);
        if (Number.isNaN(res.status)) return; // the server closed without answering (e.g. the client sent nothing parseable in time)
        expect(res.status, `${JSON.stringify(bytes.slice(0, 120))} -> ${res.head}`).toBeLessThan(500);
        if (res.status >= 400)
          expect(
            catalogueShaped(/^[A-Z]+ \/v1\//.test(bytes) /* as the server tells */ ? "/v1/" : "/", res.body),
            `${JSON.stringify(bytes.slice(0, 120))} -> ${JSON.stringify(res.body).slice(0, 200)}`,
          ).toBe(true);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expect((await fetch(`${chorus.url}/health`)).status).toBe(200);
  });
});
