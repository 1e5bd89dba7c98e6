/**
 * How a failed install is explained (failureReason), beyond the offline case of
 * setup-errors.test.ts: a token in the index URL never reaches the message (it goes to the
 * CLI, the API and the logs), a fetch that Node refuses for reasons of its own is not "the
 * index could not be reached", and a retry warning pip got over does not turn an unrelated
 * failure (a source build) into an unreachable index. Real fetches against a local server or a
 * port nothing listens on; pip's lines as pip 23 prints them.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { failureReason } from "../../core/python/index.ts";
import { freePort } from "../helpers/process.ts";

const PROXY_ENV = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] as const;
const saved: Partial<Record<(typeof PROXY_ENV)[number], string>> = {};
let server: http.Server;
let answering: string; // an index that answers (200)

beforeAll(async () => {
  for (const name of PROXY_ENV) {
    saved[name] = process.env[name];
    delete process.env[name]; // the index is tried only without a proxy
  }
  server = http.createServer((_req, res) => res.end("<html></html>"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  answering = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const name of PROXY_ENV) if (saved[name] !== undefined) process.env[name] = saved[name];
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const noVersions = [
  "ERROR: Could not find a version that satisfies the requirement torch>=2.1 (from versions: none)",
  "ERROR: No matching distribution found for torch>=2.1",
];
const pipSaid = `(pip: ${noVersions.join(" | ")})`;

describe("why a failed install failed", () => {
  it("never prints a token given in --index-url, and an index that answers is not called unreachable", async () => {
    const argv = ["python", "-m", "pip", "install", "torch>=2.1", "--index-url", `http://chorus:s3cret-token@${answering}/whl/cpu`];
    const why = await failureReason(noVersions, argv);
    expect(why).not.toContain("s3cret-token");
    expect(why).not.toContain("could not be reached");
    expect(why).toBe(noVersions.join(" | "));
  });

  it("names an unreachable index without its user and password, from --index-url or from pip's masked line", async () => {
    const port = await freePort();
    const flagged = await failureReason(noVersions, [
      "python",
      "-m",
      "pip",
      "install",
      "torch",
      "--index-url",
      `http://chorus:s3cret-token@127.0.0.1:${port}/whl/cpu`,
    ]);
    expect(flagged).toBe(`${mirrorHintFor(`http://127.0.0.1:${port}/whl/cpu`, "ECONNREFUSED")} ${pipSaid}`);
    // pip masks the password as **** (PIP_INDEX_URL with credentials); the user goes too.
    const named = await failureReason([`Looking in indexes: http://chorus:****@127.0.0.1:${port}/simple`, ...noVersions]);
    expect(named).toBe(`${mirrorHintFor(`http://127.0.0.1:${port}/simple`, "ECONNREFUSED")} ${pipSaid}`);
  });

  it("treats a fetch Node refuses by itself (no system error code) as unknown: pip's own lines", async () => {
    // Node's fetch blocks the ports the Fetch standard calls bad ("fetch failed", cause "bad port", no code); pip does not.
    expect(await failureReason(noVersions, ["pip", "install", "torch", "--index-url", "http://127.0.0.1:6000/simple"])).toBe(noVersions.join(" | "));
    // The TypeError Node throws for a URL with credentials (no cause at all), should one reach fetch.
    const refused = await fetch(`http://chorus:s3cret-token@${answering}/simple`).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(TypeError);
    vi.stubGlobal("fetch", () => Promise.reject(refused));
    expect(await failureReason(noVersions, ["pip", "install", "torch", "--index-url", `http://${answering}/simple`])).toBe(noVersions.join(" | "));
  });

  it("does not blame the index for a source build failure after a read timeout pip retried past", async () => {
    const tail = [
      "Collecting chorus-native==1.2",
      "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'ReadTimeoutError(\"HTTPSConnectionPool(host='pypi.org', port=443): Read timed out. (read timeout=15)\")': /simple/chorus-native/",
      "  Downloading chorus_native-1.2.tar.gz (40 kB)",
      "  error: subprocess-exited-with-error",
      "  src/native.c:1:10: fatal error: Python.h: No such file or directory",
      "  ERROR: Failed building wheel for chorus-native",
      "ERROR: Could not build wheels for chorus-native, which is required to install pyproject.toml-based projects",
    ];
    expect(await failureReason(tail)).toBe(`${tail[4]} | ${tail[5]} | ${tail[6]}`);
  });

  it("still reads a connection error in the failing lines themselves (pip's OSError, uv's causes)", async () => {
    const pip = [
      "Looking in indexes: https://download.pytorch.org/whl/cu128",
      "ERROR: Could not install packages due to an OSError: HTTPSConnectionPool(host='download.pytorch.org', port=443): Max retries exceeded with url: /whl/cu128/torch/ (Caused by NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno 111] Connection refused'))",
    ];
    expect(await failureReason(pip)).toBe(mirrorHintFor("https://download.pytorch.org/whl/cu128", "Connection refused"));
    const uv = [
      "error: Failed to fetch: `https://pypi.org/simple/numpy/`",
      "  Caused by: Request failed after 3 retries",
      "  Caused by: dns error: failed to lookup address information: Temporary failure in name resolution",
    ];
    expect(await failureReason(uv)).toMatch(/^the package index https:\/\/pypi\.org\/simple could not be reached \(dns error\)/);
  });
});

function mirrorHintFor(index: string, why: string): string {
  return `the package index ${index} could not be reached (${why}): check the network or the proxy (HTTPS_PROXY), or point python.torchIndexUrl (torch) and PIP_INDEX_URL (the other packages) at a reachable mirror`;
}
