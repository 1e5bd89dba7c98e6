/**
 * The faster-whisper transcriber's real code path (FasterWhisperTranscriber -> ExistingPython ->
 * whisper_transcribe.py -> JSON lines), with a STAND-IN faster_whisper package
 * (tests/finetune/fixtures/faster_whisper) that has the same API but returns words the test
 * wrote; real speech recognition is not run here (no model downloads).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ExistingPython, PythonEnvironmentError } from "../../core/finetune/python.ts";
import { FasterWhisperTranscriber, WHISPER_ENV } from "../../core/finetune/transcriber.ts";
import { tempDir } from "../helpers/temp.ts";
import { runChorusAsync } from "../helpers/process.ts";
import { Speaker, concat, sentence, silence, writeWav } from "./helpers.ts";

const FIXTURES = path.resolve(import.meta.dirname, "fixtures");

function pythonWithStandIn(): string {
  const dir = tempDir("ft-py");
  const wrapper = path.join(dir, "python");
  fs.writeFileSync(wrapper, `#!/bin/sh\nPYTHONPATH='${FIXTURES}' exec python3 "$@"\n`, { mode: 0o755 });
  return wrapper;
}

describe("faster-whisper transcriber", () => {
  it.skipIf(process.platform === "win32")("runs whisper_transcribe.py in the environment's Python and reads words and progress", async () => {
    const dir = tempDir("ft-whisper");
    const audio = path.join(dir, "talk.wav");
    fs.writeFileSync(audio, "");
    const words = [
      { word: "Hello", start: 0.1, end: 0.4 },
      { word: "there.", start: 0.45, end: 0.8 },
      ...Array.from({ length: 8 }, (_, i) => ({ word: `w${i}`, start: 1 + i * 0.3, end: 1.2 + i * 0.3 })),
    ];
    fs.writeFileSync(`${audio}.words.json`, JSON.stringify({ duration: 4, words }));
    const progress: number[] = [];
    const t = new FasterWhisperTranscriber(new ExistingPython(pythonWithStandIn()), "tiny", "cpu");
    const result = await t.transcribe(audio, { language: "en", onProgress: (f) => progress.push(f) });
    expect(result.language).toBe("en");
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    expect(result.words).toEqual(words.map((w) => ({ word: w.word, start: r3(w.start), end: r3(w.end) })));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[progress.length - 1]).toBeLessThanOrEqual(1);
  });

  it("says what to install when the Python lacks faster-whisper", async () => {
    const missing = new ExistingPython("python3");
    await expect(missing.pythonFor({ ...WHISPER_ENV, imports: ["chorus_no_such_module"] })).rejects.toThrow(PythonEnvironmentError);
    await expect(missing.pythonFor({ ...WHISPER_ENV, imports: ["chorus_no_such_module"] })).rejects.toThrow(/-m pip install 'faster-whisper>=1\.0\.1'/);
  });

  it.skipIf(process.platform === "win32")(
    "chorus finetune prepare runs end to end through it, with progress",
    async () => {
      const speaker = new Speaker();
      const parts: Int16Array[] = [];
      const words: { word: string; start: number; end: number }[] = [];
      let at = 0;
      for (let i = 0; i < 5; i++) {
        const audio = await speaker.say(sentence(i * 9));
        const rate = speaker.sampleRate;
        const ws = sentence(i * 9).split(" ");
        ws.forEach((w, k) =>
          words.push({ word: w, start: (at + (k / ws.length) * audio.length) / rate, end: (at + ((k + 0.9) / ws.length) * audio.length) / rate }),
        );
        parts.push(audio, silence(0.4, rate));
        at += audio.length + Math.round(0.4 * rate);
      }
      await speaker.close();
      const dir = tempDir("ft-prep-cli");
      const long = path.join(dir, "long.wav");
      writeWav(long, speaker.sampleRate, concat(parts));
      fs.writeFileSync(`${long}.words.json`, JSON.stringify({ duration: at / speaker.sampleRate, words }));
      const out = path.join(dir, "out");
      const r = await runChorusAsync(
        ["finetune", "prepare", long, "--out", out, "--python", pythonWithStandIn(), "--whisper-model", "tiny", "--language", "en", "--speaker", "me"],
        { env: { CHORUS_LOG__LEVEL: "silent" } },
      );
      expect(r.stderr).toMatch(/transcribing .* with faster-whisper tiny/);
      expect(r.stderr).toMatch(/transcribed 100 %/);
      expect(r.stdout).toMatch(/^wrote 5 clips to .* \(1 eval\)/);
      expect(r.status).toBe(1); // 20 s of audio: the check's "under 2 minutes" error
      expect(r.stdout).toMatch(/ERROR +total-too-short/);
      const rows = fs.readFileSync(path.join(out, "metadata_train.csv"), "utf8").trim().split("\n");
      expect(rows[0]).toBe("audio_file|text|speaker_name");
      expect(rows.slice(1).every((row) => row.endsWith("|me"))).toBe(true);
    },
    60_000,
  );

  it.skipIf(process.platform === "win32")(
    "without --python or finetune.python, prepare builds the managed environment (docs/finetune.md), not python3 from PATH",
    async () => {
      const dir = tempDir("ft-prep-managed");
      const clip = path.join(dir, "talk.wav");
      writeWav(clip, 22050, silence(1, 22050));
      // The managed environment is made with python.executable; one that does not run stops it
      // there (config/default.json once set finetune.python to "python3", so this never ran).
      const r = await runChorusAsync(["finetune", "prepare", clip, "--out", path.join(dir, "out")], {
        env: { CHORUS_LOG__LEVEL: "silent", CHORUS_DATA_DIR: path.join(dir, "var"), CHORUS_PYTHON__EXECUTABLE: "/bin/false" },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/Python '\/bin\/false' does not run/);
      expect(r.stderr).not.toMatch(/python3 cannot import faster_whisper/);
    },
    60_000,
  );
});
