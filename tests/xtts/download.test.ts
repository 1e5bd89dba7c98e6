/**
 * `chorus xtts download` against a local HTTP server laid out like Hugging Face's
 * coqui/XTTS-v2 (`/v2.0.3/FILE`, HEAD answering X-Linked-Etag = SHA-256 and X-Linked-Size):
 * nothing without --accept-license; progress; an interrupted download resumes with a Range
 * request; a checksum mismatch removes the partial file; the license acceptance is recorded.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, runChorusAsync } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";

const files: Record<string, Buffer> = {
  "config.json": Buffer.from('{"model": "xtts"}'),
  "vocab.json": Buffer.from("{}"),
  "speakers_xtts.pth": Buffer.from("{}"),
  "model.pth": crypto.randomBytes(3 * 1024 * 1024),
  "LICENSE.txt": Buffer.from("CPML"),
};
const sha = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
let server: http.Server;
let base: string;
let cutModelOnce = true;
let publishWrongHash = false;
const ranges: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? "").replace(/^\/v2\.0\.3\//, ""));
    const body = files[name];
    if (!body) return void res.writeHead(404).end();
    const hash = publishWrongHash && name === "model.pth" ? "0".repeat(64) : sha(body);
    if (req.method === "HEAD") return void res.writeHead(302, { "x-linked-etag": `"${hash}"`, "x-linked-size": String(body.length), location: req.url }).end();
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range) ranges.push(`${name}:${range[1]}`);
    const start = range ? Number(range[1]) : 0;
    res.writeHead(range ? 206 : 200, { "content-length": String(body.length - start) });
    if (name === "model.pth" && cutModelOnce && !range) {
      cutModelOnce = false;
      res.write(body.subarray(0, 1024 * 1024), () => res.destroy()); // the connection drops at 1 MB
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("chorus xtts download", () => {
  const models = tempDir("xtts-dl");
  const env = { CHORUS_ENGINES__SETTINGS: JSON.stringify({ xtts: { modelsDir: models } }) };
  const run = (...args: string[]) => runChorusAsync(["xtts", "download", "--base-url", base, ...args], { env });

  it("downloads nothing until the license is accepted", async () => {
    const res = await run();
    expect(res.status).toBe(2);
    expect(res.stderr).toContain("Coqui Public Model License (CPML), https://coqui.ai/cpml");
    expect(res.stderr).toContain("--accept-license");
    expect(fs.readdirSync(models)).toEqual([]);
  });

  it("resumes an interrupted download and verifies every checksum", async () => {
    const first = await run("--accept-license");
    expect(first.status).toBe(1);
    expect(first.stderr).toContain("run the same command again to resume");
    // Where it stopped and why, not fetch's bare "terminated".
    expect(first.stderr).toMatch(/model\.pth: the connection was lost at \d+\.\d MB \(\w[^)]*\)/);
    const dir = path.join(models, "xttsv2_2.0.3");
    // What was received before the cut is kept: a prefix of the file, up to the 1 MB sent (fetch
    // drops chunks still queued in the body stream when the connection fails, so on a loaded
    // machine the part can be a little short of 1 MB).
    const part = fs.readFileSync(path.join(dir, "model.pth.part"));
    expect(part.length).toBeGreaterThan(0);
    expect(part.length).toBeLessThanOrEqual(1024 * 1024);
    expect(part.equals(files["model.pth"]!.subarray(0, part.length))).toBe(true);
    const second = await run("--accept-license");
    expect(second.status, second.stderr).toBe(0);
    expect(ranges).toContain(`model.pth:${part.length}`);
    expect(second.stdout).toContain("model.pth: SHA-256 verified");
    expect(second.stdout).toMatch(
      new RegExp(`model\\.pth: 3\\.0 MB of 3\\.0 MB \\(100%\\) \\(resumed at ${(part.length / 2 ** 20).toFixed(1).replace(".", "\\.")} MB\\)`),
    );
    for (const [name, body] of Object.entries(files)) expect(sha(fs.readFileSync(path.join(dir, name)))).toBe(sha(body));
    expect(JSON.parse(fs.readFileSync(path.join(dir, "license-accepted.json"), "utf8"))).toMatchObject({ license: "CPML", version: "v2.0.3" });
    expect(fs.existsSync(path.join(dir, "tos_agreed.txt"))).toBe(true);
    expect((await run("--accept-license")).stdout).toContain("is complete; nothing to download");
  });

  it("names the address it cannot reach and why (offline, a wrong --base-url), not fetch's bare 'fetch failed'", async () => {
    const port = await freePort(); // nothing listens there
    const res = await runChorusAsync(["xtts", "download", "--base-url", `http://127.0.0.1:${port}`, "--accept-license", "--name", "offline"], { env });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(`config.json: cannot reach http://127.0.0.1:${port}/v2.0.3/config.json (ECONNREFUSED); check the network or the proxy`);
    expect(res.stderr).not.toContain("fetch failed");
  });

  it("refuses a file whose checksum does not match and removes the partial file", async () => {
    publishWrongHash = true;
    const res = await run("--accept-license", "--name", "bad", "--force");
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/model\.pth: SHA-256 [0-9a-f]{64} does not match the published 0{64}/);
    expect(fs.existsSync(path.join(models, "bad", "model.pth"))).toBe(false);
    expect(fs.existsSync(path.join(models, "bad", "model.pth.part"))).toBe(false);
    publishWrongHash = false;
  });
});
