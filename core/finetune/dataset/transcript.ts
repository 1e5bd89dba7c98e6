/**
 * Corrects one clip's transcript where the dataset keeps it: the row of metadata_train.csv /
 * metadata_eval.csv (AllTalk/coqui), the row of metadata.csv (LJSpeech: both the text and the
 * normalized column), or the .txt beside the audio (a plain folder). Which file and line come
 * from the dataset reader (`readDataset`), so the rewrite always matches what the check read.
 * The old file is kept as `<file>.bak-<timestamp>`; the new one is written beside it and
 * renamed over it (never half-written).
 */
import fs from "node:fs";
import path from "node:path";
import { readDataset, type DatasetEntry, type DatasetListing } from "./read.ts";

/** A correction that cannot be made (bad text, unknown clip); `field` names the request field. */
export class TranscriptError extends Error {
  constructor(
    message: string,
    readonly field: "text" | "clip",
    readonly notFound = false,
  ) {
    super(message);
  }
}

export interface TranscriptChange {
  /** The file rewritten, relative to the dataset folder. */
  file: string;
  /** The backup of the old file (relative to the dataset folder); absent when the .txt was new. */
  backup: string | undefined;
  line: number | undefined;
  before: string;
  after: string;
}

/** Why `text` cannot be a transcript, or undefined when it can. */
export function transcriptProblem(text: string): string | undefined {
  if (!text.trim()) return "the transcript is empty";
  if (text.includes("|")) return "the transcript contains '|', the metadata's column separator";
  if (/[\r\n]/.test(text)) return "the transcript spans more than one line";
  return undefined;
}

/** The entry for `clip` (as the check report names it), optionally in one split. */
export function findEntry(listing: DatasetListing, clip: string, split?: "train" | "eval"): DatasetEntry {
  const entry = listing.entries.find((e) => e.clip === clip && (!split || e.split === split));
  if (!entry) throw new TranscriptError(`no clip ${clip} in the dataset's ${listing.format} metadata`, "clip", true);
  return entry;
}

function stamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

function backupAndWrite(file: string, content: string, now: Date): string | undefined {
  let backup: string | undefined;
  if (fs.existsSync(file)) {
    backup = `${file}.bak-${stamp(now)}`;
    for (let i = 1; fs.existsSync(backup); i++) backup = `${file}.bak-${stamp(now)}-${i}`;
    fs.copyFileSync(file, backup, fs.constants.COPYFILE_EXCL);
  }
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
  return backup;
}

/** Rewrites line `lineNo` (1-based) of a pipe-separated file with `edit(fields)`, keeping its line endings. */
function rewriteLine(file: string, lineNo: number, edit: (fields: string[]) => string[]): { before: string; content: string } {
  const raw = fs.readFileSync(file, "utf8");
  const eol = raw.includes("\r\n") ? "\r\n" : "\n";
  const lines = raw.split(/\r?\n/);
  const line = lines[lineNo - 1];
  if (line === undefined) throw new TranscriptError(`${path.basename(file)} has no line ${lineNo} any more (changed since the check?)`, "clip");
  lines[lineNo - 1] = edit(line.split("|")).join("|");
  return { before: line, content: lines.join(eol) };
}

/**
 * Sets the transcript of `clip` in the dataset at `dir` to `text`. `confineTo` (real paths)
 * refuses a metadata or transcript file outside those folders, as the check does.
 */
export function correctTranscript(
  dir: string,
  clip: string,
  text: string,
  options: { split?: "train" | "eval"; confineTo?: string[]; now?: Date } = {},
): TranscriptChange {
  const problem = transcriptProblem(text);
  if (problem) throw new TranscriptError(problem, "text");
  const after = text.trim();
  const listing = readDataset(dir, options.confineTo);
  const entry = findEntry(listing, clip, options.split);
  const now = options.now ?? new Date();
  const rel = (f: string) => path.relative(listing.dir, f);

  if (listing.format === "folder") {
    const parsed = path.parse(entry.audioPath);
    const txt = path.join(parsed.dir, `${parsed.name}.txt`);
    const backup = backupAndWrite(txt, `${after}\n`, now);
    return { file: rel(txt), backup: backup && rel(backup), line: undefined, before: entry.text, after };
  }

  const [name, lineText] = entry.source.split(":");
  const file = path.join(listing.dir, name!);
  const lineNo = Number(lineText);
  let edited: { before: string; content: string };
  if (listing.format === "coqui") {
    const header = fs
      .readFileSync(file, "utf8")
      .replace(/^\uFEFF/, "")
      .split(/\r?\n/)[0]!
      .split("|")
      .map((h) => h.trim());
    const col = header.indexOf("text");
    edited = rewriteLine(file, lineNo, (fields) => {
      // extra `|`s inside the old text: the text spans several fields, as the reader took it
      const span = 1 + Math.max(0, fields.length - header.length);
      return [...fields.slice(0, col), after, ...fields.slice(col + span)];
    });
  } else {
    // LJSpeech: id|text|normalized (or id|text); more fields mean `|` inside the old text
    edited = rewriteLine(file, lineNo, (fields) => (fields.length === 2 ? [fields[0]!, after] : [fields[0]!, after, after]));
  }
  const backup = backupAndWrite(file, edited.content, now);
  return { file: rel(file), backup: backup && rel(backup), line: lineNo, before: entry.text, after };
}
