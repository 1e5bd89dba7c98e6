/**
 * `chorus xtts download [--accept-license] [--version v2.0.3] [--name NAME] [--finetune-files]
 * [--base-url URL] [--force]`: the XTTS v2 base model from Hugging Face (coqui/XTTS-v2) into
 * the models directory, only after the user accepts the Coqui Public Model License with the
 * flag (recorded in `<modelsDir>/<name>/license-accepted.json`, and coqui's own
 * `tos_agreed.txt`, so the library never prompts on stdin). Each file: progress, resume (HTTP
 * Range on `FILE.part`), and its SHA-256 checked against the one Hugging Face publishes for
 * LFS files (`X-Linked-Etag`). The folder is complete only when every file is.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { CommandUsageError, defineCommand } from "chorus/sdk";

export const CPML_URL = "https://coqui.ai/cpml";
const BASE = "https://huggingface.co/coqui/XTTS-v2/resolve";
const FILES = ["config.json", "vocab.json", "speakers_xtts.pth", "model.pth", "LICENSE.txt"];
const FINETUNE_FILES = ["dvae.pth", "mel_stats.pth"];

type Out = { write(text: string): unknown };

async function expectedDigest(url: string): Promise<{ sha256?: string; size?: number }> {
  try {
    const res = await fetch(url, { method: "HEAD", redirect: "manual" });
    const etag = (res.headers.get("x-linked-etag") ?? res.headers.get("etag") ?? "").replace(/^W\//, "").replaceAll('"', "");
    const size = Number(res.headers.get("x-linked-size") ?? res.headers.get("content-length") ?? NaN);
    return { sha256: /^[0-9a-f]{64}$/.test(etag) ? etag : undefined, size: Number.isFinite(size) ? size : undefined };
  } catch {
    return {};
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = crypto.createHash("sha256");
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** A network failure's reason: fetch says only "fetch failed" or "terminated"; the cause has the code (ECONNREFUSED, ENOTFOUND, ...). */
function reason(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

/** The response body; a connection lost mid-file says where it stopped (the .part file keeps what came). */
async function* bodyOf(res: Response, dest: string, received: () => number): AsyncIterable<Uint8Array> {
  try {
    yield* res.body as unknown as AsyncIterable<Uint8Array>;
  } catch (err) {
    throw new Error(`${path.basename(dest)}: the connection was lost at ${(received() / 2 ** 20).toFixed(1)} MB (${reason(err)})`);
  }
}

/** One file through `dest.part`, resumed where a previous run stopped. */
async function fetchFile(url: string, dest: string, out: Out): Promise<void> {
  const part = `${dest}.part`;
  const { sha256, size } = await expectedDigest(url);
  let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  if (size !== undefined && have > size) have = 0;
  let res: Response;
  try {
    res = await fetch(url, { headers: have ? { range: `bytes=${have}-` } : {} });
  } catch (err) {
    throw new Error(`${path.basename(dest)}: cannot reach ${url} (${reason(err)}); check the network or the proxy, or give a mirror with --base-url`);
  }
  if (res.status === 416 && size !== undefined && have === size) {
    // already complete
  } else if (!res.ok) {
    throw new Error(`${path.basename(dest)}: HTTP ${res.status} from ${url}`);
  } else {
    if (res.status !== 206) have = 0; // the server ignored the range: start over
    const total = size ?? (Number(res.headers.get("content-length")) || 0) + have;
    const stream = fs.createWriteStream(part, { flags: have ? "a" : "w" });
    let received = have;
    let shown = -1;
    try {
      for await (const chunk of bodyOf(res, dest, () => received)) {
        if (!stream.write(chunk)) await new Promise<void>((r) => stream.once("drain", () => r()));
        received += chunk.byteLength;
        const pct = total ? Math.floor((received / total) * 100) : -1;
        if (pct !== shown && (pct % 5 === 0 || received === total)) {
          shown = pct;
          out.write(
            `  ${path.basename(dest)}: ${(received / 2 ** 20).toFixed(1)} MB${total ? ` of ${(total / 2 ** 20).toFixed(1)} MB (${pct}%)` : ""}${have ? ` (resumed at ${(have / 2 ** 20).toFixed(1)} MB)` : ""}\n`,
          );
        }
      }
    } finally {
      await new Promise<void>((r) => stream.end(r));
    }
  }
  if (sha256) {
    const actual = await hashFile(part);
    if (actual !== sha256) {
      fs.rmSync(part, { force: true });
      throw new Error(`${path.basename(dest)}: SHA-256 ${actual} does not match the published ${sha256}; the partial file was removed, run the command again`);
    }
    out.write(`  ${path.basename(dest)}: SHA-256 verified\n`);
  }
  fs.renameSync(part, dest);
}

export default defineCommand({
  async run({ argv, settings, stdout, stderr }) {
    const { values } = parseArgs({
      args: argv,
      options: {
        "accept-license": { type: "boolean" },
        version: { type: "string", default: "v2.0.3" },
        name: { type: "string" },
        "finetune-files": { type: "boolean" },
        "base-url": { type: "string", default: BASE },
        force: { type: "boolean" },
      },
      strict: true,
    });
    if (!/^v\d+\.\d+\.\d+$/.test(values.version!)) throw new CommandUsageError(`--version must look like v2.0.3 (got '${values.version}')`);
    const modelsDir = path.resolve(String(settings.modelsDir ?? "models/xtts"));
    const name = values.name ?? `xttsv2_${values.version!.slice(1)}`;
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new CommandUsageError(`--name must be a folder name (got '${name}')`);
    if (!values["accept-license"]) {
      stderr.write(
        `The XTTS v2 model is licensed under the Coqui Public Model License (CPML), ${CPML_URL}:\n` +
          "non-commercial use only. Read it, then run again with --accept-license to download.\n",
      );
      return 2;
    }
    const dir = path.join(modelsDir, name);
    const files = [...FILES, ...(values["finetune-files"] ? FINETUNE_FILES : [])];
    if (!values.force && files.every((f) => fs.existsSync(path.join(dir, f)))) {
      stdout.write(`${dir} is complete; nothing to download (--force fetches it again)\n`);
      return 0;
    }
    fs.mkdirSync(dir, { recursive: true });
    const record = { license: "CPML", url: CPML_URL, acceptedAt: new Date().toISOString(), user: os.userInfo().username, version: values.version };
    fs.writeFileSync(path.join(dir, "license-accepted.json"), `${JSON.stringify(record, null, 2)}\n`);
    fs.writeFileSync(
      path.join(dir, "tos_agreed.txt"),
      `I have read, understood and agreed to the Terms and Conditions (${CPML_URL}), via chorus xtts download --accept-license.\n`,
    );
    stdout.write(`downloading XTTS ${values.version} into ${dir} (license accepted and recorded)\n`);
    for (const [i, file] of files.entries()) {
      const dest = path.join(dir, file);
      if (!values.force && fs.existsSync(dest)) {
        stdout.write(`[${i + 1}/${files.length}] ${file}: already there\n`);
        continue;
      }
      stdout.write(`[${i + 1}/${files.length}] ${file}\n`);
      try {
        await fetchFile(`${values["base-url"]!.replace(/\/+$/, "")}/${values.version}/${file}`, dest, stdout);
      } catch (err) {
        stderr.write(`chorus xtts download: ${(err as Error).message}\n(run the same command again to resume)\n`);
        return 1;
      }
    }
    stdout.write(`done: model '${name}' is ready; a running server lists it at once (engines.settings.xtts.model = "${name}" makes it the default)\n`);
    return 0;
  },
});
