/**
 * The encoder launcher (core/audio/encoders/spawner.ts): ffmpeg is forked by one small
 * launcher process, never by the host (a fork from the host stalls its event loop while its
 * page tables are copied). Real ffmpeg, real launcher; /proc gives each process's parent.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ffmpegEncode, ffmpegStats } from "../../core/audio/encoders/ffmpeg.ts";
import { closeLauncher, launch, launcherStats } from "../../core/audio/encoders/spawner.ts";
import { streamAudio, wholeAudio } from "../../core/audio/output/index.ts";
import { asSpeech, decodeAudio, fromArray, tone } from "../compat/decode.ts";
import { tempDir } from "../helpers/temp.ts";

const RATE = 22050;
const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe.runIf(process.platform === "linux")("encoder launcher", () => {
  it("starts a process whose parent is the launcher, with its stdin, stdout and exit status", async () => {
    const cat = await launch("cat", []);
    const launcherPid = parentOf(cat.pid);
    expect(launcherPid).not.toBe(process.pid);
    expect(parentOf(launcherPid)).toBe(process.pid);
    const out: Buffer[] = [];
    cat.stdout.on("data", (d: Buffer) => out.push(d));
    const ended = new Promise((r) => cat.stdout.on("end", r));
    cat.stdin.end(Buffer.alloc(200_000, 7));
    await ended;
    expect(Buffer.concat(out).equals(Buffer.alloc(200_000, 7))).toBe(true);
    expect(await cat.exited).toMatchObject({ code: 0, signal: null });
    expect(cat.alive()).toBe(false);

    const failing = await launch("sh", ["-c", "echo broken >&2; exit 3"]);
    failing.stdout.resume();
    expect(await failing.exited).toMatchObject({ code: 3, stderr: "broken\n" });
    await expect(launch("/nonexistent/binary", [])).rejects.toThrow(/ENOENT/);
  });

  it("an ffmpeg that exits at once (bad arguments) fails the stream with its message, it does not hang", async () => {
    for (let i = 0; i < 5; i++) {
      const out = ffmpegEncode(RATE, ["-c:a", "no_such_codec", "-f", "adts"], fromArray(tone(0.2, RATE)));
      await expect(out.next()).rejects.toThrow(/ffmpeg failed \(1\): .*no_such_codec/);
    }
  });

  it("one launcher serves every ffmpeg stream; a dead launcher is replaced at the next start", async () => {
    const before = launcherStats.started;
    for (let i = 0; i < 3; i++) {
      const bytes = (await wholeAudio(asSpeech(fromArray(tone(0.3, RATE)), RATE), { format: "aac" })).body;
      expect((await decodeAudio(bytes)).durationSeconds).toBeGreaterThan(0.25);
    }
    expect(launcherStats.started).toBeLessThanOrEqual(before + 1);
    await until(() => ffmpegStats().spares >= 1, "a spare");

    // A stream in progress when the launcher dies fails as an encoder failure, not a hang.
    async function* slow() {
      for (;;) {
        yield tone(0.25, RATE)[0]!;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const body = streamAudio(asSpeech(slow(), RATE), { format: "flac" }).body;
    await body.next();
    closeLauncher();
    await expect(
      (async () => {
        for await (const _ of body) void _;
      })(),
    ).rejects.toThrow(/ffmpeg failed/);

    // The spare died with it; the next stream starts a new launcher and works.
    const started = launcherStats.started;
    const bytes = (await wholeAudio(asSpeech(fromArray(tone(0.5, RATE)), RATE), { format: "aac" })).body;
    expect((await decodeAudio(bytes)).durationSeconds).toBeGreaterThan(0.45);
    expect(launcherStats.started).toBe(started + 1);
  });
});

describe("warm encoders", () => {
  it("a starting server's encoders: one pool thread and the launcher, used by the first streams, keeping nothing alive", async () => {
    // In a fresh process: the launcher and the pool must be started by warmEncoders itself.
    const root = path.resolve(import.meta.dirname, "../..");
    const at = (file: string) => JSON.stringify(path.join(root, file));
    const script = path.join(tempDir("chorus-warm"), "warm.mts");
    writeFileSync(
      script,
      `import { warmEncoders, poolStats } from ${at("core/audio/encoders/index.ts")};
      import { launcherStats } from ${at("core/audio/encoders/spawner.ts")};
      import { wholeAudio } from ${at("core/audio/output/index.ts")};
      import { asSpeech, fromArray, tone } from ${at("tests/compat/decode.ts")};
      warmEncoders();
      const warmed = { workers: poolStats.workersStarted, launchers: launcherStats.started };
      for (const format of ["mp3", "opus", "aac"]) await wholeAudio(asSpeech(fromArray(tone(0.5)), 22050), { format });
      console.log(JSON.stringify({ warmed, workers: poolStats.workersStarted, launchers: launcherStats.started }));`,
    );
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--import", "tsx", script], { cwd: root, timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    // It printed and exited by itself (execFile resolves on exit): neither kept the process alive.
    expect(JSON.parse(out.trim().split("\n").pop()!)).toEqual({ warmed: { workers: 1, launchers: 1 }, workers: 1, launchers: 1 });
  });
});
