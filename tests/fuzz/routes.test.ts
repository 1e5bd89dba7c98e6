/**
 * Fuzz (issue 11 guarantee): seeded, bounded property-based requests against every route
 * through fastify inject. Property: never a 5xx, every error body in the catalogue's shape
 * (OpenAI's under /v1), the server alive and /health answering throughout.
 * Seed and size: FUZZ_SEED / FUZZ_RUNS (defaults 11 and 1500) to re-run or widen a campaign.
 */
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";
import { catalogueShaped, request } from "./arbitraries.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 11);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);

let host: Host;
let app: FastifyInstance;
beforeAll(async () => {
  host = testHost({ log: { level: "silent" }, dataDir: tempDir("fuzz"), text: { maxLength: 500 } });
  app = await buildApp(host);
});
afterAll(async () => {
  await app.close();
  await host.close();
});

describe("fuzz: every route", () => {
  it(`never a 5xx, never a non-catalogue error, /health throughout (seed ${SEED}, ${RUNS} requests)`, async () => {
    const statuses = new Map<number, number>();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ route, body, query, param, headers }) => {
        const url = route.path.replace(":id", param).replace(":file", param) + query;
        let res;
        try {
          res = await app.inject({
            method: route.method as "GET",
            url,
            payload: body.payload,
            headers: { ...headers, ...(body.contentType ? { "content-type": body.contentType } : {}) },
          });
        } catch (err) {
          // light-my-request refuses some header values before they reach the server
          if (
            /Invalid character in header|ERR_INVALID_CHAR|ERR_HTTP_INVALID_HEADER_VALUE/.test(
              String((err as Error).message) + String((err as { code?: string }).code),
            )
          )
            return;
          throw err;
        }
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, `${route.method} ${url.slice(0, 120)} -> ${res.body.slice(0, 300)}`).toBeLessThan(500);
        if (res.statusCode >= 400 && res.statusCode !== 499) {
          expect(String(res.headers["content-type"])).toMatch(/^application\/json/);
          expect(catalogueShaped(url, res.json()), `${route.method} ${url.slice(0, 120)} -> ${res.body.slice(0, 300)}`).toBe(true);
        }
        if (++n % 100 === 0) expect((await app.inject("/health")).statusCode).toBe(200);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expect((await app.inject("/health")).statusCode).toBe(200);
    expect(host.scheduler.queued).toBe(0);
    // the campaign reached more than the 400s: some requests were served
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
  });
});
