/** Runs the text-generation-webui extension's Python unittest against a running Chorus. */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startChorus, type RunningChorus } from "./server.ts";

const DIR = path.resolve(import.meta.dirname, "../../examples/text-generation-webui");
let chorus: RunningChorus;
beforeAll(async () => (chorus = await startChorus()));
afterAll(async () => chorus?.close());

it("the extension's unittest passes (none skipped)", async () => {
  // Asynchronously: a blocking spawn would stall the event loop the server runs on.
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn("python3", ["-m", "unittest", "-v", "test_chorus_tts"], {
      cwd: DIR,
      env: { ...process.env, CHORUS_URL: chorus.url, PYTHONDONTWRITEBYTECODE: "1" },
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code) => resolve({ code, output }));
  });
  expect(result.output).toMatch(/Ran 12 tests/);
  expect(result.output).not.toMatch(/skipped/);
  expect(result.output, result.output).toMatch(/\nOK\s*$/);
  expect(result.code).toBe(0);
});
