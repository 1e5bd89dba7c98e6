/**
 * What a new user meets when the machine is not as expected: a data folder that cannot be
 * written, an output file in a missing folder, the Wyoming server on a busy port: one line
 * naming the setting and the fix, never a stack trace. And `chorus say`'s progress on a
 * terminal (run under `script`, which gives it a pseudo-terminal).
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CHORUS_BIN, freePort, runChorusAsync, startServer } from "../helpers/process.ts";
import { until } from "../helpers/wait.ts";
import { tempDir } from "../helpers/temp.ts";

/** A data folder that cannot be made: its parent is a file (unwritable even for root). */
function blockedDataDir(): string {
  const file = path.join(tempDir("blocked"), "a-file");
  fs.writeFileSync(file, "");
  return path.join(file, "var");
}

const quiet = { CHORUS_LOG__LEVEL: "silent" };
const noTrace = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

describe("first start on an unusual machine", () => {
  it("an unwritable data folder stops serve, say and use with one line naming dataDir and CHORUS_DATA_DIR (exit 2)", async () => {
    const dataDir = blockedDataDir();
    for (const args of [
      ["serve", "--port", "0"],
      ["say", "Hello.", "-o", "/dev/null"],
      ["use", "flite"],
    ]) {
      const res = await runChorusAsync(args, { env: { ...quiet, CHORUS_DATA_DIR: dataDir } });
      expect(res.status, `${args[0]}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toBe(
        `chorus: the data folder ${dataDir} (dataDir) cannot be written: ENOTDIR: not a directory, mkdir '${dataDir}'; set dataDir in the configuration or CHORUS_DATA_DIR to a writable folder\n`,
      );
    }
  }, 60_000);

  it("say -o into a missing folder or onto a folder says so before synthesising, in one line", async () => {
    const dir = tempDir("say-out");
    const missing = path.join(dir, "no", "such", "x.wav");
    const env = { ...quiet, CHORUS_DATA_DIR: tempDir("say-data") };
    const res = await runChorusAsync(["say", "Hello.", "-o", missing], { env });
    expect(res.status).toBe(1);
    expect(res.stderr).toBe(`chorus: cannot write ${missing}: no folder ${path.dirname(missing)} (-o names the output file)\n`);
    const onDir = await runChorusAsync(["say", "Hello.", "-o", dir], { env });
    expect(onDir.status).toBe(1);
    expect(onDir.stderr).toBe(`chorus: cannot write ${dir}: it is a folder (-o names the output file)\n`);
  }, 60_000);

  it("say with a text over text.maxLength names the setting and its variable", async () => {
    const text = "A text of forty characters, give or take.";
    const res = await runChorusAsync(["say", "-o", "/dev/null"], {
      env: { ...quiet, CHORUS_DATA_DIR: tempDir("say-long"), CHORUS_TEXT__MAX_LENGTH: "20" },
      input: text,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toBe(
      `chorus: the text is ${text.length} characters, over text.maxLength (20); raise it (CHORUS_TEXT__MAX_LENGTH=N) or split the text\n`,
    );
  }, 60_000);

  it("an unknown voice or engine points at the chorus command that lists them, not at an HTTP route", async () => {
    const env = { ...quiet, CHORUS_DATA_DIR: tempDir("say-hints") };
    const voice = await runChorusAsync(["say", "Hi.", "--voice", "vulcan", "-o", "/dev/null"], { env });
    expect(voice.status).toBe(1);
    expect(voice.stderr).toBe("chorus: engine 'espeak' has no voice 'vulcan' (chorus voices --engine espeak lists them) [CHORUS_ERR_VOICE_NOT_FOUND]\n");
    const named = await runChorusAsync(["say", "Hi.", "--voice", "nope:x", "-o", "/dev/null"], { env });
    expect(named.stderr).toBe("chorus: voice 'nope:x' names engine 'nope', which is not installed (chorus engines lists them) [CHORUS_ERR_ENGINE_NOT_FOUND]\n");
    for (const args of [
      ["use", "nope"],
      ["voices", "--engine", "nope"],
    ]) {
      const res = await runChorusAsync(args, { env });
      expect(res.status).toBe(1);
      expect(res.stderr).toBe("chorus: no engine 'nope' (chorus engines lists them) [CHORUS_ERR_ENGINE_NOT_FOUND]\n");
    }
  }, 60_000);

  it("say -o takes the format from the file's extension when --format is left out; --format wins", async () => {
    const dir = tempDir("say-ext");
    const env = { ...quiet, CHORUS_DATA_DIR: tempDir("say-ext-data") };
    const magic = async (file: string, args: string[] = []) => {
      const res = await runChorusAsync(["say", "Hello.", "-o", path.join(dir, file), ...args], { env });
      expect(res.status, res.stderr).toBe(0);
      return fs.readFileSync(path.join(dir, file)).subarray(0, 4);
    };
    expect((await magic("a.flac")).toString("ascii")).toBe("fLaC");
    expect((await magic("a.ogg")).toString("ascii")).toBe("OggS");
    expect((await magic("a.MP3"))[0]).toBe(0xff); // an MPEG frame, not RIFF
    expect((await magic("a.unknown")).toString("ascii")).toBe("RIFF");
    expect((await magic("b.mp3", ["--format", "wav"])).toString("ascii")).toBe("RIFF");
  }, 60_000);

  it("a default engine that is not installed (engines.default) is named, with the fix, by say, engines and serve", async () => {
    const env = { ...quiet, CHORUS_DATA_DIR: tempDir("no-default"), CHORUS_ENGINES__DEFAULT: "nope" };
    const note =
      "the default engine 'nope' (engines.default, CHORUS_ENGINES__DEFAULT) is not installed; name one with --engine ID or make one the default with chorus use ID (chorus engines lists them)";
    for (const args of [["say", "Hi.", "-o", "/dev/null"], ["voices"]]) {
      const res = await runChorusAsync(args, { env });
      expect(res.status, args[0]).toBe(1);
      expect(res.stderr).toBe(`chorus: ${note}\n`);
    }
    // naming an engine still works
    expect((await runChorusAsync(["say", "Hi.", "--engine", "flite", "-o", "/dev/null"], { env })).status).toBe(0);
    const engines = await runChorusAsync(["engines", "--url", `http://127.0.0.1:${await freePort()}`], { env });
    expect(engines.stderr).toBe(`note: ${note}\n`);
    const none = await runChorusAsync(["engines", "--url", `http://127.0.0.1:${await freePort()}`], {
      env: { ...env, CHORUS_ENGINES__DIRS: '["no-such-folder"]' },
    });
    expect(none.status).toBe(1);
    expect(none.stdout).toMatch(/^no engines found in .*no-such-folder \(engines\.dirs\)\n/);
    const server = await startServer({ CHORUS_DATA_DIR: env.CHORUS_DATA_DIR, CHORUS_ENGINES__DEFAULT: "nope" });
    try {
      await until(
        () =>
          server.output().includes("the default engine 'nope' (engines.default, CHORUS_ENGINES__DEFAULT) is not installed; requests that name no engine fail"),
        "serve's warning",
      );
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("chorus wyoming on a busy port, or with a --port that is no port, says so in one line", async () => {
    const busy = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => busy.listen(port, "127.0.0.1", resolve));
    const env = { ...quiet, CHORUS_DATA_DIR: tempDir("wy-busy") };
    try {
      const res = await runChorusAsync(["wyoming", "--port", String(port)], { env });
      expect(res.status).toBe(1);
      noTrace(res.stderr);
      expect(res.stderr).toBe(
        `chorus: port ${port} on 127.0.0.1 is already in use (another Chorus or AllTalk?); stop that program or choose another with --port N or CHORUS_WYOMING__PORT=N\n`,
      );
    } finally {
      busy.close();
    }
    const bad = await runChorusAsync(["wyoming", "--port", "abc"], { env });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^chorus: --port must be a port number \(0-65535\), got 'abc'\nUsage: chorus wyoming/);
  }, 60_000);
});

const hasScript = process.platform === "linux" && spawnSync("script", ["--version"]).status === 0;

/** Runs `chorus ARGS` with stdout and stderr on a pseudo-terminal (util-linux `script`); its output as the terminal got it. */
function onTerminal(args: string[], env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const command = [process.execPath, CHORUS_BIN, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}

describe("chorus say's progress on a terminal", () => {
  it.skipIf(!hasScript)(
    "counts the seconds of audio made, up to the file's length (not chunks against turns)",
    async () => {
      const out = path.join(tempDir("say-progress"), "long.wav");
      // Flite: the host splits sentences; 24+ words: a short first chunk, said with the rest of
      // its sentence in one turn, so there are more chunks than turns.
      const text =
        "This is the first sentence of a longer text, long enough to be cut, and it goes on a while. " +
        "Here is the second one. The third one is short. A fourth follows it. And a fifth ends the text.";
      const res = await onTerminal(["say", text, "--engine", "flite", "-o", out], { ...quiet, CHORUS_DATA_DIR: tempDir("say-progress-data") });
      expect(res.status, res.output).toBe(0);
      const shown = [...res.output.matchAll(/\r(\d+\.\d) s of audio/g)].map((m) => Number(m[1]));
      expect(shown.length, res.output).toBeGreaterThan(1);
      // it only grows, and its last figure is the file's length
      for (let i = 1; i < shown.length; i++) expect(shown[i]!).toBeGreaterThanOrEqual(shown[i - 1]!);
      const wrote = /wrote .*long\.wav: (\d+\.\d\d) s at/.exec(res.output);
      expect(wrote, res.output).not.toBeNull();
      expect(Math.abs(shown.at(-1)! - Number(wrote![1]))).toBeLessThanOrEqual(0.051);
      // the progress line is ended before the summary
      expect(res.output).toMatch(/s of audio\r?\nwrote /);
      expect(res.output).not.toMatch(/sentences/);
    },
    60_000,
  );
});
