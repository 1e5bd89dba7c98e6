/**
 * `chorus voices install URL|PATH|NAME [--sha256 X] [--dir D]`: puts a Piper voice pair
 * (NAME.onnx + NAME.onnx.json) into a voices directory. The source is
 *  - a URL of the .onnx (or of the .onnx.json; the other half is next to it), e.g. from the
 *    Hugging Face collection https://huggingface.co/rhasspy/piper-voices
 *    (`.../resolve/main/en/en_US/lessac/medium/en_US-lessac-medium.onnx`; `/blob/` URLs and
 *    `?download=true` are accepted),
 *  - a local path of either file,
 *  - or a voice name such as `en_US-lessac-medium`, fetched from that collection.
 * The config is fetched and validated first, then the model (progress, resume, optional
 * SHA-256 of the .onnx), which must open in onnxruntime as a Piper model. Only then are both
 * moved into place, the config last, so a running engine never sees half a voice.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import ort from "onnxruntime-node";
import { CommandUsageError, defineCommand, type CommandOutput } from "chorus/sdk";
import { parseSettings } from "../settings.ts";
import { parseVoiceConfig } from "../voice-config.ts";
import { download, progressBar, type DownloadProgress } from "./download.ts";

export const PIPER_VOICES_BASE = "https://huggingface.co/rhasspy/piper-voices/resolve/main";

export interface InstallVoiceOptions {
  /** URL, local path or voice name (see above). */
  source: string;
  /** Expected SHA-256 (hex) of the .onnx file. */
  sha256?: string;
  /** Target voices directory (created if needed); default `voices/piper`. */
  dir?: string;
  /** Overwrite an installed voice of the same name. */
  force?: boolean;
  onProgress?: (progress: DownloadProgress) => void;
  /** Base URL for voice names (default: the Hugging Face piper-voices collection). */
  baseUrl?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface InstalledVoice {
  voice: string;
  modelPath: string;
  configPath: string;
  bytes: number;
  sha256: string;
}

export class VoiceInstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VoiceInstallError";
  }
}

/** `en_US-lessac-medium` -> its URL in the piper-voices collection. */
export function voiceNameToUrl(name: string, baseUrl = PIPER_VOICES_BASE): string {
  const m = /^(([a-z]{2,3})_[A-Za-z0-9]+)-(.+)-(x_low|low|medium|high)$/.exec(name);
  if (!m) throw new VoiceInstallError(`'${name}' is not a URL, a file, or a voice name like en_US-lessac-medium`);
  const [, locale, family, speaker, quality] = m;
  return `${baseUrl.replace(/\/$/, "")}/${family}/${locale}/${speaker}/${quality}/${name}.onnx`;
}

/** Where the model and config of a source are: [model, config] URLs or paths, and the name. */
export function resolveSource(source: string, baseUrl?: string): { model: string; config: string; name: string; remote: boolean } {
  let remote = /^https?:\/\//i.test(source);
  let target = source;
  if (!remote && !fs.existsSync(source) && !fs.existsSync(`${source}.onnx`) && !source.includes("/") && !source.endsWith(".onnx")) {
    target = voiceNameToUrl(source, baseUrl);
    remote = true;
  }
  if (remote) {
    const url = new URL(target.replace("/blob/", "/resolve/"));
    const query = url.search;
    url.search = "";
    let base = url.toString();
    if (base.endsWith(".onnx.json")) base = base.slice(0, -5);
    else if (!base.endsWith(".onnx")) throw new VoiceInstallError(`${source}: a voice URL ends in .onnx or .onnx.json`);
    const name = decodeURIComponent(base.split("/").pop()!.slice(0, -5));
    return { model: `${base}${query}`, config: `${base}.json${query}`, name, remote };
  }
  let base = path.resolve(target);
  if (base.endsWith(".onnx.json")) base = base.slice(0, -5);
  else if (!base.endsWith(".onnx")) base = `${base}.onnx`;
  return { model: base, config: `${base}.json`, name: path.basename(base, ".onnx"), remote };
}

export async function installVoice(options: InstallVoiceOptions): Promise<InstalledVoice> {
  const src = resolveSource(options.source, options.baseUrl);
  if (!/^[\w.+-]+$/.test(src.name)) throw new VoiceInstallError(`unusable voice name '${src.name}'`);
  const dir = path.resolve(options.dir ?? "voices/piper");
  fs.mkdirSync(dir, { recursive: true });
  const modelPath = path.join(dir, `${src.name}.onnx`);
  const configPath = `${modelPath}.json`;
  if (!options.force && fs.existsSync(modelPath) && fs.existsSync(configPath)) {
    throw new VoiceInstallError(`voice '${src.name}' is already installed in ${dir} (use --force to replace it)`);
  }
  // Staging names the voice catalogue ignores (it only reads *.onnx and *.onnx.json).
  const stagedConfig = path.join(dir, `.${src.name}.onnx.json.download`);
  const stagedModel = path.join(dir, `.${src.name}.onnx.download`);

  try {
    await fetchOrCopy(src.config, stagedConfig, src.remote, options, "voice config (.onnx.json)");
    try {
      parseVoiceConfig(JSON.parse(fs.readFileSync(stagedConfig, "utf8")), `${src.name}.onnx.json`);
    } catch (err) {
      throw new VoiceInstallError(`corrupt voice config for '${src.name}': ${(err as Error).message}`);
    }

    const bytes = await fetchOrCopy(src.model, stagedModel, src.remote, options, "voice model (.onnx)");
    const sha256 = await hashFile(stagedModel);
    if (options.sha256 && options.sha256.toLowerCase() !== sha256) {
      throw new VoiceInstallError(`SHA-256 mismatch for ${src.name}.onnx: expected ${options.sha256.toLowerCase()}, got ${sha256}; the download was deleted`);
    }
    await checkModel(stagedModel, src.name);
    fs.renameSync(stagedModel, modelPath);
    fs.renameSync(stagedConfig, configPath);
    return { voice: src.name, modelPath, configPath, bytes, sha256 };
  } catch (err) {
    // A failed install leaves nothing staged behind, except the `.part` of an interrupted
    // download (download.ts keeps it), which the next run resumes.
    fs.rmSync(stagedConfig, { force: true });
    fs.rmSync(stagedModel, { force: true });
    throw err;
  }
}

async function fetchOrCopy(from: string, to: string, remote: boolean, options: InstallVoiceOptions, what: string): Promise<number> {
  if (!remote) {
    if (!fs.existsSync(from)) throw new VoiceInstallError(`missing ${what}: ${from} does not exist`);
    fs.copyFileSync(from, to);
    return fs.statSync(to).size;
  }
  try {
    return await download(from, to, { onProgress: options.onProgress, fetch: options.fetch, signal: options.signal });
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 404) throw new VoiceInstallError(`missing ${what}: ${from} answered 404 Not Found`);
    throw new VoiceInstallError(`cannot download ${what} from ${from}: ${(err as Error).message}`);
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = crypto.createHash("sha256");
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The model must open in onnxruntime and have Piper's inputs and output. */
async function checkModel(file: string, name: string): Promise<void> {
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(file);
  } catch (err) {
    throw new VoiceInstallError(`corrupt voice model for '${name}': onnxruntime cannot load it (${(err as Error).message.split("\n")[0]})`);
  }
  const missing = ["input", "input_lengths", "scales"].filter((n) => !session.inputNames.includes(n));
  const noOutput = !session.outputNames.includes("output");
  await session.release();
  if (missing.length || noOutput) {
    throw new VoiceInstallError(`'${name}.onnx' is not a Piper voice model (missing ${[...missing, ...(noOutput ? ["output"] : [])].join(", ")})`);
  }
}

/**
 * The CLI entry: installs, prints where the voice went, returns the exit code (0 ok, 1 error).
 * `dir` defaults to the first of `voiceDirs` (the engine's setting) or `voices/piper`.
 */
export async function voicesInstallCommand(args: {
  source: string;
  sha256?: string;
  dir?: string;
  force?: boolean;
  voiceDirs?: string[];
  /** Base URL for voice names (default: the Hugging Face piper-voices collection). */
  baseUrl?: string;
  stdout?: CommandOutput;
  stderr?: CommandOutput;
  signal?: AbortSignal;
}): Promise<number> {
  const stdout = args.stdout ?? process.stdout;
  const stderr = args.stderr ?? process.stderr;
  try {
    const result = await installVoice({
      source: args.source,
      sha256: args.sha256,
      dir: args.dir ?? args.voiceDirs?.[0],
      force: args.force,
      baseUrl: args.baseUrl,
      onProgress: progressBar(stderr),
      signal: args.signal,
    });
    stdout.write(
      `installed voice '${result.voice}' (${(result.bytes / 1048576).toFixed(1)} MB, sha256 ${result.sha256})\n  ${result.modelPath}\n  ${result.configPath}\n`,
    );
    return 0;
  } catch (err) {
    stderr.write(`chorus voices install: ${(err as Error).message}\n`);
    return 1;
  }
}

const INSTALL_HELP = `Usage: chorus voices install URL|PATH|NAME [--sha256 HEX] [--dir DIR] [--force]
Installs a Piper voice pair (NAME.onnx + NAME.onnx.json) into the first of the Piper engine's
voiceDirs (engines.settings.piper.voiceDirs, default voices/piper) or into --dir.
  URL    e.g. https://huggingface.co/rhasspy/piper-voices/resolve/main/en/en_US/lessac/medium/en_US-lessac-medium.onnx
  PATH   a local .onnx or .onnx.json (the other half must be beside it)
  NAME   a voice of that collection, e.g. en_US-lessac-medium (or of the mirror in
         engines.settings.piper.voiceCollectionUrl)
Interrupted downloads resume when run again; --sha256 checks the .onnx.
`;

/** `chorus voices install ...` (manifest `commands`). */
export default defineCommand({
  async run({ argv, settings, stdout, stderr }) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        sha256: { type: "string" },
        dir: { type: "string" },
        force: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      stdout.write(INSTALL_HELP);
      return 0;
    }
    if (positionals.length !== 1)
      throw new CommandUsageError(
        positionals.length ? `one voice at a time (got ${positionals.length}: ${positionals.join(" ")})` : "which voice? give a URL, a path or a name",
      );
    if (values.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(values.sha256)) throw new CommandUsageError("--sha256 must be 64 hex digits");
    const controller = new AbortController();
    const onInterrupt = () => controller.abort();
    process.once("SIGINT", onInterrupt);
    const { voiceDirs, voiceCollectionUrl } = parseSettings(settings);
    try {
      return await voicesInstallCommand({
        source: positionals[0]!,
        sha256: values.sha256,
        dir: values.dir,
        force: values.force,
        voiceDirs,
        baseUrl: voiceCollectionUrl,
        stdout,
        stderr,
        signal: controller.signal,
      });
    } finally {
      process.off("SIGINT", onInterrupt);
    }
  },
});
