/**
 * Writes engines/piper/casefold.json: the code points whose Unicode full case folding
 * (CaseFolding.txt statuses C + F, what piper-phonemize's uni-algo `to_casefold_utf8` does for
 * `phoneme_type: text`) differs from JavaScript's `toLowerCase`, e.g. ß -> ss, ς -> σ, ﬁ -> fi.
 * JavaScript has no case folding; `caseFold` in phonemizer.ts lower-cases, then applies this
 * table. The folding comes from Python's `str.casefold()` (full folding).
 *
 *   npx tsx engines/piper/tools/generate-casefold.ts
 *
 * Before writing, it checks that lower-casing then the table gives Python's folding for every
 * cased code point Python knows (code points newer than Python's Unicode are left to JS).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../casefold.json");

// [code point, folded] for every assigned code point that lower-casing or folding changes.
const PYTHON = `
import json, sys, unicodedata
rows = []
for cp in range(0x110000):
    c = chr(cp)
    if 0xD800 <= cp < 0xE000 or unicodedata.category(c) == "Cn":
        continue
    if c.casefold() != c or c.lower() != c:
        rows.append([cp, c.casefold()])
json.dump({"unicode": unicodedata.unidata_version, "rows": rows}, sys.stdout)
`;
const { unicode, rows } = JSON.parse(execFileSync("python3", ["-c", PYTHON], { encoding: "utf8", maxBuffer: 1 << 26 })) as {
  unicode: string;
  rows: [number, string][];
};

// Only code points that survive lower-casing can reach the table at run time.
const table = new Map<string, string>();
for (const [cp, folded] of rows) {
  const c = String.fromCodePoint(cp);
  if (c.toLowerCase() === c && folded !== c) table.set(c, folded);
}

const apply = (text: string) => Array.from(text.toLowerCase(), (c) => table.get(c) ?? c).join("");
const wrong = rows.filter(([cp, folded]) => apply(String.fromCodePoint(cp)) !== folded);
if (wrong.length) {
  const show = wrong
    .slice(0, 10)
    .map(([cp, folded]) => `U+${cp.toString(16).toUpperCase()} -> ${JSON.stringify(folded)} (got ${JSON.stringify(apply(String.fromCodePoint(cp)))})`);
  throw new Error(`lower-case + table differs from Python's casefold for ${wrong.length} code point(s): ${show.join("; ")}`);
}

const entries = [...table].map(([c, folded]) => `  ${JSON.stringify(c)}: ${JSON.stringify(folded)}`);
fs.writeFileSync(OUT, `{\n${entries.join(",\n")}\n}\n`);
console.log(
  `wrote ${path.relative(process.cwd(), OUT)}: ${table.size} code points (Python's Unicode ${unicode}, checked against ${rows.length} cased code points)`,
);
