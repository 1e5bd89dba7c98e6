/** Temporary folders for tests, removed after the test file that made them. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new folder `<tmp>/chorus-PREFIX-XXXXXX`, removed when the current test file ends. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `chorus-${prefix}-`));
  made.push(dir);
  return dir;
}
