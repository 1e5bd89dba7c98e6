/**
 * Files readable in one sitting: no source file in core/ over 300 lines (the project's rule,
 * issue 10's "done when"). A file listed in TOO_LONG is a known exception with the work that
 * removes it; the test also fails once such a file is short enough, so the list only shrinks.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const LIMIT = 300;
const SOURCE = /\.(ts|mts|mjs|js|py)$/;

/** Known exceptions, each with what removes it. */
const TOO_LONG: Record<string, string> = {};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "__pycache__" ? [] : sourceFiles(full);
    return SOURCE.test(e.name) ? [full] : [];
  });
}

const lines = (file: string) => (fs.readFileSync(path.resolve(ROOT, file), "utf8").match(/\n/g) ?? []).length;

describe("file size in core/", () => {
  const files = sourceFiles(path.join(ROOT, "core")).map((f) => ({ file: path.relative(ROOT, f).split(path.sep).join("/"), lines: lines(f) }));

  it(`has no source file over ${LIMIT} lines (apart from the listed exceptions)`, () => {
    expect(files.length).toBeGreaterThan(100);
    const over = files.filter((f) => f.lines > LIMIT && !(f.file in TOO_LONG)).map((f) => `${f.file}: ${f.lines}`);
    expect(over).toEqual([]);
  });

  it("lists only exceptions that still exist and are still too long", () => {
    const stale = Object.keys(TOO_LONG).filter((name) => (files.find((f) => f.file === name)?.lines ?? 0) <= LIMIT);
    expect(stale).toEqual([]);
  });
});

/**
 * Docs stay readable too: an edit once pasted a section before every character of
 * docs/wyoming.md (126,429 lines) and nothing noticed. No document over 1,000 lines, and no
 * paragraph of over 80 characters that stands twice in one document.
 */
describe("docs/", () => {
  const docs = fs
    .readdirSync(path.join(ROOT, "docs"))
    .filter((n) => n.endsWith(".md"))
    .map((n) => ({ name: `docs/${n}`, text: fs.readFileSync(path.join(ROOT, "docs", n), "utf8") }));

  it("has no document over 1,000 lines", () => {
    expect(docs.length).toBeGreaterThan(5);
    expect(docs.filter((d) => lines(d.name) > 1000).map((d) => `${d.name}: ${lines(d.name)}`)).toEqual([]);
  });

  it("repeats no paragraph within a document", () => {
    const repeated = docs.flatMap((d) => {
      const seen = new Set<string>();
      return d.text
        .split(/\n\s*\n/)
        .map((p) => p.trim())
        .filter((p) => p.length > 80 && !p.startsWith("|") && !p.startsWith("```"))
        .filter((p) => (seen.has(p) ? true : (seen.add(p), false)))
        .map((p) => `${d.name}: ${p.slice(0, 60)}...`);
    });
    expect(repeated).toEqual([]);
  });
});
