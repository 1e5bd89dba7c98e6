/**
 * `chorus voices install` against a local HTTP server this test starts: progress, resume of
 * an interrupted download with a Range request, SHA-256 check, missing and corrupt pairs,
 * local paths, Hugging Face style URLs and names.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { installVoice, resolveSource, voiceNameToUrl } from "../../engines/piper/cli/voices-install.ts";
import { download, type DownloadProgress } from "../../engines/piper/cli/download.ts";
import { ensureTestVoices } from "../fixtures/piper/generate-voices.ts";
import { runChorusAsync } from "../helpers/process.ts";

let source: string;
let server: http.Server;
let base: string;
/** Files served, by URL path. */
const files = new Map<string, Buffer>();
const requests: { url: string; range?: string }[] = [];
/**
 * URL paths whose next full (non-range) response is cut off half way: the half is sent, and
 * the connection breaks once the promise resolves (the test resolves it when its client has
 * the half, so what the client had when it broke never depends on timing).
 */
const cutOnce = new Map<string, Promise<void>>();
/** Cuts `urlPath` once; returns the function to call when the client has the half. */
function cutWhenTold(urlPath: string): () => void {
  let tell!: () => void;
  cutOnce.set(urlPath, new Promise<void>((resolve) => (tell = resolve)));
  return tell;
}
const temps: string[] = [];
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "piper-install-"));
  temps.push(d);
  return d;
};

beforeAll(async () => {
  source = ensureTestVoices();
  const model = fs.readFileSync(path.join(source, "test-multi.onnx"));
  const config = fs.readFileSync(path.join(source, "test-multi.onnx.json"));
  files.set("/rhasspy/piper-voices/resolve/main/en/en_US/test/x_low/en_US-test-x_low.onnx", model);
  files.set("/rhasspy/piper-voices/resolve/main/en/en_US/test/x_low/en_US-test-x_low.onnx.json", config);
  files.set("/corrupt/bad.onnx", Buffer.from("definitely not onnx ".repeat(100)));
  files.set("/corrupt/bad.onnx.json", config);
  files.set("/badjson/v.onnx", model);
  files.set("/badjson/v.onnx.json", Buffer.from('{"audio": {}}'));
  files.set("/nomodel/v.onnx.json", config);
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    requests.push({ url: url.pathname, range: req.headers.range });
    const body = files.get(url.pathname);
    if (!body) {
      res.writeHead(404).end("not found");
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range) {
      const start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { "content-length": body.length - start, "content-range": `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { "content-length": body.length, "accept-ranges": "bytes" });
    const cut = cutOnce.get(url.pathname);
    if (cut) {
      cutOnce.delete(url.pathname);
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      void cut.then(() => res.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  requests.length = 0;
  cutOnce.clear();
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const MODEL_PATH = "/rhasspy/piper-voices/resolve/main/en/en_US/test/x_low/en_US-test-x_low.onnx";

describe("voices install", () => {
  it("downloads a Hugging Face style URL with progress, checks the SHA-256, installs the pair", async () => {
    const dir = tempDir();
    const model = files.get(MODEL_PATH)!;
    const sha256 = crypto.createHash("sha256").update(model).digest("hex");
    const progress: DownloadProgress[] = [];
    const result = await installVoice({ source: `${base}${MODEL_PATH}?download=true`, sha256, dir, onProgress: (p) => progress.push(p) });
    expect(result.voice).toBe("en_US-test-x_low");
    expect(fs.readFileSync(path.join(dir, "en_US-test-x_low.onnx")).equals(model)).toBe(true);
    expect(fs.readFileSync(path.join(dir, "en_US-test-x_low.onnx.json")).equals(files.get(`${MODEL_PATH}.json`)!)).toBe(true);
    expect(result.sha256).toBe(sha256);
    const modelProgress = progress.filter((p) => p.file.includes(".onnx?") || p.file.endsWith(".onnx"));
    expect(modelProgress.at(-1)).toMatchObject({ received: model.length, total: model.length });
    expect(new Set(modelProgress.map((p) => p.received)).size).toBeGreaterThan(1);
    expect(fs.readdirSync(dir).sort()).toEqual(["en_US-test-x_low.onnx", "en_US-test-x_low.onnx.json"]);
    // Installing again without force is refused.
    await expect(installVoice({ source: `${base}${MODEL_PATH}`, dir })).rejects.toThrow(/already installed.*--force/);
  });

  it("resumes an interrupted download with an HTTP Range request", async () => {
    const dir = tempDir();
    const half = Math.floor(files.get(MODEL_PATH)!.length / 2);
    const haveHalf = cutWhenTold(MODEL_PATH);
    const progress: DownloadProgress[] = [];
    const onProgress = (p: DownloadProgress) => {
      progress.push(p);
      if (p.file.endsWith(".onnx") && p.received >= half) haveHalf();
    };
    await installVoice({ source: `${base}${MODEL_PATH}`, dir, onProgress });
    const modelRequests = requests.filter((r) => r.url === MODEL_PATH);
    expect(modelRequests.map((r) => r.range)).toEqual([undefined, `bytes=${half}-`]);
    expect(progress.some((p) => p.resumedFrom === half)).toBe(true);
    expect(fs.readFileSync(path.join(dir, "en_US-test-x_low.onnx")).equals(files.get(MODEL_PATH)!)).toBe(true);
  });

  it("keeps every byte read before the connection broke, so the resume asks for exactly the rest", async () => {
    const model = files.get(MODEL_PATH)!;
    const half = Math.floor(model.length / 2);
    const ranges: (string | undefined)[] = [];
    // The body yields half the file, then fails on the next read (at once, unlike a socket).
    const breaking: typeof fetch = async (_url, init) => {
      const range = new Headers(init?.headers).get("range") ?? undefined;
      ranges.push(range);
      if (range) {
        const start = Number(/^bytes=(\d+)-$/.exec(range)![1]);
        return new Response(Uint8Array.from(model.subarray(start)), {
          status: 206,
          headers: { "content-range": `bytes ${start}-${model.length - 1}/${model.length}` },
        });
      }
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent) controller.error(new Error("connection reset"));
          else controller.enqueue(model.subarray(0, half));
          sent = true;
        },
      });
      return new Response(body, { status: 200, headers: { "content-length": String(model.length) } });
    };
    const dest = path.join(tempDir(), "model.onnx");
    expect(await download("http://voices.invalid/model.onnx", dest, { fetch: breaking, attempts: 2 })).toBe(model.length);
    expect(ranges).toEqual([undefined, `bytes=${half}-`]);
    expect(fs.readFileSync(dest).equals(model)).toBe(true);
  });

  it("resumes from a partial file left by an earlier run", async () => {
    const dir = tempDir();
    const model = files.get(MODEL_PATH)!;
    fs.writeFileSync(path.join(dir, ".en_US-test-x_low.onnx.download.part"), model.subarray(0, 1000));
    await installVoice({ source: `${base}${MODEL_PATH}`, dir });
    expect(requests.find((r) => r.url === MODEL_PATH)?.range).toBe("bytes=1000-");
    expect(fs.readFileSync(path.join(dir, "en_US-test-x_low.onnx")).equals(model)).toBe(true);
  });

  it("rejects a SHA-256 mismatch and leaves nothing behind (no voice, no staged files)", async () => {
    const dir = tempDir();
    await expect(installVoice({ source: `${base}${MODEL_PATH}`, dir, sha256: "0".repeat(64) })).rejects.toThrow(
      /SHA-256 mismatch.*expected 0{64}, got [0-9a-f]{64}/,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("reports a missing half, a corrupt model and a corrupt config clearly, leaving the directory clean each time", async () => {
    const dir = tempDir();
    const failures: [string, RegExp][] = [
      [`${base}/nomodel/v.onnx`, /missing voice model \(\.onnx\).*404/], // after the config was staged
      [`${base}/nothing/v.onnx`, /missing voice config \(\.onnx\.json\).*404/],
      [`${base}/corrupt/bad.onnx`, /corrupt voice model for 'bad': onnxruntime cannot load it/],
      [`${base}/badjson/v.onnx`, /corrupt voice config for 'v'.*audio\.sample_rate/],
    ];
    for (const [source, error] of failures) {
      await expect(installVoice({ source, dir })).rejects.toThrow(error);
      expect(fs.readdirSync(dir), source).toEqual([]);
    }
  });

  it("an interrupted install keeps only the model's .part, and the next run resumes it", async () => {
    const dir = tempDir();
    const half = Math.floor(files.get(MODEL_PATH)!.length / 2);
    const haveHalf = cutWhenTold(MODEL_PATH);
    const controller = new AbortController();
    const onProgress = (p: DownloadProgress) => {
      if (p.file.endsWith(".onnx") && p.received >= half) {
        controller.abort(); // as Ctrl-C would
        haveHalf();
      }
    };
    await expect(installVoice({ source: `${base}${MODEL_PATH}`, dir, onProgress, signal: controller.signal })).rejects.toThrow(/cannot download voice model/);
    expect(fs.readdirSync(dir)).toEqual([".en_US-test-x_low.onnx.download.part"]);
    expect(fs.statSync(path.join(dir, ".en_US-test-x_low.onnx.download.part")).size).toBe(half);

    requests.length = 0;
    await installVoice({ source: `${base}${MODEL_PATH}`, dir });
    expect(requests.find((r) => r.url === MODEL_PATH)?.range).toBe(`bytes=${half}-`);
    expect(fs.readdirSync(dir).sort()).toEqual(["en_US-test-x_low.onnx", "en_US-test-x_low.onnx.json"]);
  });

  it("installs from a local path (either file of the pair)", async () => {
    const dir = tempDir();
    const result = await installVoice({ source: path.join(source, "test-single.onnx.json"), dir });
    expect(result.voice).toBe("test-single");
    expect(fs.existsSync(path.join(dir, "test-single.onnx"))).toBe(true);
    await expect(installVoice({ source: path.join(tempDir(), "nothing.onnx"), dir })).rejects.toThrow(/missing voice config.*does not exist/);
    // A local config without its model: the staged config is removed again.
    const lonely = tempDir();
    fs.copyFileSync(path.join(source, "test-single.onnx.json"), path.join(lonely, "lonely.onnx.json"));
    await expect(installVoice({ source: path.join(lonely, "lonely.onnx.json"), dir })).rejects.toThrow(/missing voice model.*does not exist/);
    expect(fs.readdirSync(dir).sort()).toEqual(["test-single.onnx", "test-single.onnx.json"]);
  });

  it("turns voice names and /blob/ URLs into the collection's download URLs", async () => {
    expect(voiceNameToUrl("en_US-lessac-medium")).toBe(
      "https://huggingface.co/rhasspy/piper-voices/resolve/main/en/en_US/lessac/medium/en_US-lessac-medium.onnx",
    );
    expect(resolveSource("https://huggingface.co/rhasspy/piper-voices/blob/main/de/de_DE/thorsten/high/de_DE-thorsten-high.onnx.json")).toMatchObject({
      model: "https://huggingface.co/rhasspy/piper-voices/resolve/main/de/de_DE/thorsten/high/de_DE-thorsten-high.onnx",
      config: "https://huggingface.co/rhasspy/piper-voices/resolve/main/de/de_DE/thorsten/high/de_DE-thorsten-high.onnx.json",
      name: "de_DE-thorsten-high",
    });
    const dir = tempDir();
    const result = await installVoice({ source: "en_US-test-x_low", dir, baseUrl: `${base}/rhasspy/piper-voices/resolve/main` });
    expect(result.voice).toBe("en_US-test-x_low");
    expect(() => voiceNameToUrl("not a voice")).toThrow(/voice name like en_US-lessac-medium/);
  });
});

describe("the `chorus voices install` command", () => {
  /** A config file whose Piper settings install into `voiceDir` and look names up on the test server. */
  const configFile = (voiceDir: string) => {
    const file = path.join(tempDir(), "chorus.json");
    const piper = { voiceDirs: [voiceDir], voiceCollectionUrl: `${base}/rhasspy/piper-voices/resolve/main` };
    fs.writeFileSync(file, JSON.stringify({ engines: { settings: { piper } } }));
    return file;
  };

  it("installs by URL into the configured voices directory, with progress and checksum", async () => {
    const voiceDir = tempDir();
    const model = files.get(MODEL_PATH)!;
    const sha256 = crypto.createHash("sha256").update(model).digest("hex");
    const result = await runChorusAsync(["voices", "install", `${base}${MODEL_PATH}`, "--sha256", sha256, "--config", configFile(voiceDir)]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`installed voice 'en_US-test-x_low' .*sha256 ${sha256}`));
    expect(result.stderr).toMatch(/en_US-test-x_low\.onnx: 100%/); // progress (not a terminal: one line per tenth)
    expect(fs.readFileSync(path.join(voiceDir, "en_US-test-x_low.onnx")).equals(model)).toBe(true);
    expect(fs.existsSync(path.join(voiceDir, "en_US-test-x_low.onnx.json"))).toBe(true);

    const again = await runChorusAsync(["voices", "install", `${base}${MODEL_PATH}`, "--config", configFile(voiceDir)]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already installed.*--force/);
  });

  it("installs by voice name (from the configured collection) into --dir", async () => {
    const dir = tempDir();
    const result = await runChorusAsync(["voices", "install", "en_US-test-x_low", "--dir", dir, "--config", configFile(tempDir())]);
    expect(result.status, result.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(["en_US-test-x_low.onnx", "en_US-test-x_low.onnx.json"]);
  });

  it("reports bad usage with exit 2 and a failed install with exit 1", async () => {
    const config = configFile(tempDir());
    for (const args of [[], ["a", "b"], [`${base}${MODEL_PATH}`, "--sha256", "xyz"], [`${base}${MODEL_PATH}`, "--bogus"]]) {
      const result = await runChorusAsync(["voices", "install", ...args, "--config", config]);
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(/Usage: chorus voices install URL\|PATH\|NAME/);
    }
    const corrupt = await runChorusAsync(["voices", "install", `${base}/corrupt/bad.onnx`, "--config", config]);
    expect(corrupt.status).toBe(1);
    expect(corrupt.stderr).toMatch(/corrupt voice model for 'bad'/);
    const extra = await runChorusAsync(["voices", "nonsense", "--config", config]);
    expect(extra.status).toBe(2);
    expect(extra.stderr).toMatch(/voices takes no arguments/);
  });
});
