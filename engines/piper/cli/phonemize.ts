/**
 * `chorus phonemize --voice-config FILE.onnx.json [TEXT]`: the phonemes and ids the Piper
 * engine feeds the model for TEXT (stdin when absent), sentence by sentence, as JSON
 * `{"sentences":[{"phonemes":[...],"phoneme_ids":[...]}]}`. Same code path as the engine.
 */
import { parseArgs } from "node:util";
import { CommandUsageError, defineCommand, type CommandInput, type CommandOutput } from "chorus/sdk";
import { describeMissing, phonemizeForVoice, type MappedSentence } from "../phoneme-ids.ts";
import { EspeakPhonemizer } from "../phonemizer.ts";
import { readVoiceConfig } from "../voice-config.ts";

export interface PhonemizeResult {
  sentences: MappedSentence[];
  /** Phonemes the voice's map lacks (dropped from the ids), with counts. */
  missing: Record<string, number>;
}

let shared: EspeakPhonemizer | undefined;

/** Phonemizes `text` for the voice whose config is at `voiceConfigPath`. */
export async function phonemizeWithVoiceConfig(voiceConfigPath: string, text: string): Promise<PhonemizeResult> {
  const config = readVoiceConfig(voiceConfigPath);
  shared ??= new EspeakPhonemizer();
  const missing = new Map<string, number>();
  const sentences = (await phonemizeForVoice(shared, text, config, missing)).filter((s) => s.phonemes.length > 0);
  return { sentences, missing: Object.fromEntries(missing) };
}

async function readAll(stream: CommandInput): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The CLI entry: prints the JSON on `stdout` and returns the exit code (0 ok, 1 error; a
 * warning about phonemes the voice lacks goes to stderr).
 */
export async function phonemizeCommand(args: {
  voiceConfig: string;
  text?: string;
  stdin?: CommandInput;
  stdout?: CommandOutput;
  stderr?: CommandOutput;
}): Promise<number> {
  const stdout = args.stdout ?? process.stdout;
  const stderr = args.stderr ?? process.stderr;
  try {
    const text = args.text ?? (await readAll(args.stdin ?? process.stdin));
    const result = await phonemizeWithVoiceConfig(args.voiceConfig, text);
    const missing = new Map(Object.entries(result.missing));
    if (missing.size) stderr.write(`warning: the voice has no id for ${describeMissing(missing)}; dropped\n`);
    stdout.write(`${JSON.stringify({ sentences: result.sentences })}\n`);
    return 0;
  } catch (err) {
    stderr.write(`chorus phonemize: ${(err as Error).message}\n`);
    return 1;
  }
}

/** `chorus phonemize --voice-config FILE.onnx.json [TEXT...]` (manifest `commands`). */
export default defineCommand({
  async run({ argv, stdin, stdout, stderr }) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { "voice-config": { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      stdout.write(
        "Usage: chorus phonemize --voice-config FILE.onnx.json [TEXT]\nPrints the phonemes and ids the Piper engine feeds the model, as JSON; TEXT from stdin when absent.\n",
      );
      return 0;
    }
    if (!values["voice-config"]) throw new CommandUsageError("--voice-config FILE.onnx.json is required");
    const text = positionals.length ? positionals.join(" ") : undefined;
    return phonemizeCommand({ voiceConfig: values["voice-config"], text, stdin, stdout, stderr });
  },
});
