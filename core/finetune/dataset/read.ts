/**
 * Reads the dataset formats people have:
 *  - AllTalk/coqui: `metadata_train.csv` + `metadata_eval.csv`, pipe-separated with the header
 *    `audio_file|text|speaker_name`, paths relative to the CSV's folder, `lang.txt`;
 *  - LJSpeech: `metadata.csv`, `id|text|normalized`, no header, audio in `wavs/ID.wav`;
 *  - a plain folder of audio files with a `.txt` transcript beside each.
 * Format problems (a missing header, a row whose `|` count is off) become findings.
 */
import fs from "node:fs";
import path from "node:path";
import type { Finding } from "./findings.ts";
import { isUnder } from "../confine.ts";

export const AUDIO_EXTENSIONS = [".wav", ".mp3", ".flac", ".ogg", ".opus", ".m4a", ".aac", ".webm"];

export interface DatasetEntry {
  /** As written in the metadata (or the file name), for messages. */
  clip: string;
  audioPath: string;
  text: string;
  speaker: string | undefined;
  split: "train" | "eval";
  /** File and line it came from. */
  source: string;
}

export interface DatasetListing {
  dir: string;
  format: "coqui" | "ljspeech" | "folder";
  language: string | undefined;
  entries: DatasetEntry[];
  findings: Finding[];
  /** Whether the format carries an eval split of its own. */
  hasEvalSplit: boolean;
}

/** A metadata or transcript file that leads outside the allowed folders. */
export class DatasetPathError extends Error {}

/** Reads a text file, or refuses one whose real path leaves `roots` (the API's dataset folders). */
function reader(roots: string[] | undefined) {
  return (file: string): string => {
    if (roots) {
      // realpathSync throws for a missing file, as reading it would (isInside would call it outside)
      if (!isUnder(fs.realpathSync(file), roots)) throw new DatasetPathError(`${path.basename(file)} points outside the dataset folders`);
    }
    return fs.readFileSync(file, "utf8");
  };
}
type Read = ReturnType<typeof reader>;

function readCoquiCsv(dir: string, name: string, split: "train" | "eval", findings: Finding[], read: Read): DatasetEntry[] {
  const file = path.join(dir, name);
  const lines = read(file)
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/);
  const header = (lines[0] ?? "").split("|").map((h) => h.trim());
  const col = (n: string) => header.indexOf(n);
  if (col("audio_file") < 0 || col("text") < 0) {
    findings.push({
      severity: "error",
      code: "csv-header",
      clip: name,
      message: `${name} has no header 'audio_file|text|speaker_name' (first line: '${(lines[0] ?? "").slice(0, 80)}')`,
      fix: "add the header line audio_file|text|speaker_name; the coqui formatter reads the first line as the header",
    });
    return [];
  }
  const entries: DatasetEntry[] = [];
  lines.slice(1).forEach((line, i) => {
    if (!line.trim()) return;
    const source = `${name}:${i + 2}`;
    const fields = line.split("|");
    const clip = fields[col("audio_file")]?.trim() ?? "";
    let text = fields[col("text")] ?? "";
    if (fields.length > header.length) {
      // the extra `|`s are inside the text: the coqui formatter warns and the text is cut
      text = fields.slice(col("text"), col("text") + 1 + fields.length - header.length).join("|");
    }
    const speaker = col("speaker_name") >= 0 ? fields[fields.length > header.length ? fields.length - 1 : col("speaker_name")]?.trim() : undefined;
    entries.push({ clip, audioPath: path.resolve(dir, clip), text, speaker: speaker || undefined, split, source });
  });
  return entries;
}

function readLjSpeech(dir: string, read: Read): DatasetEntry[] {
  const lines = read(path.join(dir, "metadata.csv"))
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/);
  const entries: DatasetEntry[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const fields = line.split("|");
    const id = fields[0]!.trim();
    // id|text|normalized: with exactly 3 fields use the normalized text; more fields mean `|` inside the text
    const text = fields.length === 3 ? fields[2]! || fields[1]! : fields.length === 2 ? fields[1]! : fields.slice(1).join("|");
    entries.push({
      clip: `wavs/${id}.wav`,
      audioPath: path.join(dir, "wavs", `${id}.wav`),
      text,
      speaker: undefined,
      split: "train",
      source: `metadata.csv:${i + 1}`,
    });
  });
  return entries;
}

function readFolder(dir: string, read: Read): DatasetEntry[] {
  const entries: DatasetEntry[] = [];
  const walk = (sub: string) => {
    for (const d of fs.readdirSync(path.join(dir, sub), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = path.join(sub, d.name);
      if (d.isDirectory()) walk(rel);
      else if (AUDIO_EXTENSIONS.includes(path.extname(d.name).toLowerCase())) {
        const txt = path.join(dir, sub, `${path.parse(d.name).name}.txt`);
        const text = fs.existsSync(txt) ? read(txt).trim() : "";
        entries.push({
          clip: rel,
          audioPath: path.join(dir, rel),
          text,
          speaker: undefined,
          split: "train",
          source: fs.existsSync(txt) ? path.relative(dir, txt) : `${rel} (no .txt beside it)`,
        });
      }
    }
  };
  walk("");
  return entries;
}

/**
 * Lists a dataset folder; throws when `dir` is not a folder, or (with `confineTo`) when a
 * metadata or transcript file's real path leaves those folders.
 */
export function readDataset(dir: string, confineTo?: string[]): DatasetListing {
  const abs = path.resolve(dir);
  const read = reader(confineTo);
  if (!fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${dir} is not a folder`);
  const findings: Finding[] = [];
  const langFile = path.join(abs, "lang.txt");
  const language = fs.existsSync(langFile) ? read(langFile).trim() || undefined : undefined;
  if (fs.existsSync(path.join(abs, "metadata_train.csv"))) {
    const entries = readCoquiCsv(abs, "metadata_train.csv", "train", findings, read);
    const hasEval = fs.existsSync(path.join(abs, "metadata_eval.csv"));
    // a loop, not push(...rows): a spread of 100k+ rows overflows the call stack
    if (hasEval) for (const row of readCoquiCsv(abs, "metadata_eval.csv", "eval", findings, read)) entries.push(row);
    return { dir: abs, format: "coqui", language, entries, findings, hasEvalSplit: hasEval };
  }
  if (fs.existsSync(path.join(abs, "metadata.csv")))
    return { dir: abs, format: "ljspeech", language, entries: readLjSpeech(abs, read), findings, hasEvalSplit: false };
  return { dir: abs, format: "folder", language, entries: readFolder(abs, read), findings, hasEvalSplit: false };
}
