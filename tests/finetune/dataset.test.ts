/**
 * `chorus finetune check` and `prepare` on datasets made from real eSpeak NG audio (synthesised
 * through Chorus's pipeline in beforeAll). `prepare` runs with a stand-in transcriber that this
 * test controls: it knows where each sentence was put in the recording and reports word times
 * inside it, the way faster-whisper's word timestamps would (faster-whisper itself is not run).
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkDataset, type CheckReport } from "../../core/finetune/check.ts";
import { xttsV2 } from "../../core/finetune/models/xtts-v2.ts";
import { prepareDataset } from "../../core/finetune/prepare.ts";
import type { Transcriber, Word } from "../../core/finetune/transcriber.ts";
import { decodeAudio } from "../../core/finetune/dataset/audio.ts";
import { tempDir } from "../helpers/temp.ts";
import { Speaker, concat, sentence, silence, writeCoqui, writeWav, type Row } from "./helpers.ts";

const speaker = new Speaker();
const said: Int16Array[] = []; // one eSpeak sentence each
const SENTENCES = 56;
let rate = 22050;
/** Sentences under the 2 s minimum: prepare must join each to a neighbour. */
const SHORT = ["Right.", "Of course.", "Good night.", "Thank you."];
const saidShort: Int16Array[] = [];

beforeAll(async () => {
  for (let i = 0; i < SENTENCES; i++) said.push(await speaker.say(sentence(i * 5)));
  for (const t of SHORT) saidShort.push(await speaker.say(t));
  rate = speaker.sampleRate;
}, 120_000);
afterAll(() => speaker.close());

const codes = (r: CheckReport, severity?: string) => r.findings.filter((f) => !severity || f.severity === severity).map((f) => f.code);
const finding = (r: CheckReport, code: string) => r.findings.find((f) => f.code === code);

describe("finetune check", () => {
  it("reports each problem of a bad dataset with its severity and clip", async () => {
    const dir = tempDir("ft-bad");
    const gap = silence(0.3, rate);
    const train: Row[] = [];
    for (let i = 0; i < 4; i++) {
      writeWav(path.join(dir, `wavs/ok${i}.wav`), rate, said[i]!);
      train.push({ file: `wavs/ok${i}.wav`, text: sentence(i * 5) });
    }
    // five sentences in one clip: longer than the trainer's 11.6 s
    writeWav(path.join(dir, "wavs/long.wav"), rate, concat([said[4]!, gap, said[5]!, gap, said[6]!, gap, said[7]!, gap, said[8]!]));
    train.push({ file: "wavs/long.wav", text: [4, 5, 6, 7, 8].map((i) => sentence(i * 5)).join(" ") });
    writeWav(path.join(dir, "wavs/silent.wav"), rate, silence(3, rate));
    train.push({ file: "wavs/silent.wav", text: "This clip should hold speech." });
    // a 3 s sentence with a one-word transcript
    writeWav(path.join(dir, "wavs/mismatch.wav"), rate, said[9]!);
    train.push({ file: "wavs/mismatch.wav", text: "Yes." });
    writeWav(path.join(dir, "wavs/pipe.wav"), rate, said[10]!);
    train.push({ file: "wavs/pipe.wav", text: sentence(50).replace(" ", " | ") });
    train.push({ file: "wavs/missing.wav", text: "This file was never written." });
    const evals: Row[] = [11, 12, 13, 14, 15].map((i) => {
      writeWav(path.join(dir, `wavs/ev${i}.wav`), rate, said[i]!);
      return { file: `wavs/ev${i}.wav`, text: sentence(i * 5) };
    });
    writeCoqui(dir, train, evals);

    const r = await checkDataset(dir, { model: xttsV2 });
    expect(finding(r, "clip-too-long")).toMatchObject({ severity: "error", clip: "wavs/long.wav" });
    expect(finding(r, "clip-silent")).toMatchObject({ severity: "error", clip: "wavs/silent.wav" });
    expect(finding(r, "text-audio-mismatch")).toMatchObject({ severity: "warning", clip: "wavs/mismatch.wav" });
    expect(finding(r, "text-pipe")).toMatchObject({ severity: "error", clip: "wavs/pipe.wav" });
    expect(finding(r, "missing-file")).toMatchObject({ severity: "error", clip: "wavs/missing.wav" });
    expect(finding(r, "total-too-short")).toMatchObject({ severity: "error" });
    expect(finding(r, "eval-split-range")).toMatchObject({ severity: "warning" });
    // every finding says what to do
    for (const f of r.findings) expect(f.fix.length).toBeGreaterThan(5);
    // only the four good clips (and the mismatch, which the trainer keeps) are trained on
    const kept = r.clips.filter((c) => c.split === "train" && c.kept).map((c) => c.clip);
    expect(kept.sort()).toEqual(["wavs/mismatch.wav", "wavs/ok0.wav", "wavs/ok1.wav", "wavs/ok2.wav", "wavs/ok3.wav"]);
    expect(r.summary).toMatch(/minutes will be trained on \(5 of 9 training clips kept/);
    // the too-long clip is the one over the trainer's maximum in the histogram
    expect(r.clips.find((c) => c.clip === "wavs/long.wav")!.seconds).toBeGreaterThan(xttsV2.limits.maxClipSeconds);
  });

  it("a clean dataset of two-sentence clips reports none of those problems", async () => {
    const dir = tempDir("ft-clean");
    const rows: Row[] = [];
    for (let i = 0; i + 1 < SENTENCES; i += 2) {
      const file = `wavs/c${i}.wav`;
      writeWav(path.join(dir, file), rate, concat([said[i]!, silence(0.3, rate), said[i + 1]!]));
      rows.push({ file, text: `${sentence(i * 5)} ${sentence((i + 1) * 5)}` });
    }
    writeCoqui(dir, rows.slice(4), rows.slice(0, 4));
    const r = await checkDataset(dir, { model: xttsV2 });
    expect(r.totals.seconds).toBeGreaterThan(180);
    expect(codes(r, "error")).toEqual([]);
    for (const code of [
      "clip-too-long",
      "clip-silent",
      "text-audio-mismatch",
      "text-pipe",
      "missing-file",
      "total-too-short",
      "total-short",
      "eval-split-range",
    ])
      expect(codes(r)).not.toContain(code);
    expect(r.totals.keptTrainClips).toBe(rows.length - 4);
    expect(Object.keys(r.totals).sort()).toEqual([
      "clips",
      "errors",
      "evalClips",
      "infos",
      "keptTrainClips",
      "minutesTrained",
      "seconds",
      "trainClips",
      "warnings",
    ]);
    expect(r.totals.errors).toBe(r.findings.filter((f) => f.severity === "error").length);

    // the same clips, fewer of them: between 2 and 3 minutes is a warning, not an error
    writeCoqui(dir, rows.slice(3, 22), rows.slice(0, 3));
    const short = await checkDataset(dir, { model: xttsV2 });
    expect(short.totals.seconds).toBeGreaterThan(120);
    expect(short.totals.seconds).toBeLessThan(180);
    expect(finding(short, "total-short")?.severity).toBe("warning");
    expect(codes(short, "error")).toEqual([]);
  });

  it("reads LJSpeech metadata.csv and a plain folder with .txt transcripts", async () => {
    const lj = tempDir("ft-lj");
    writeWav(path.join(lj, "wavs/LJ001-0001.wav"), rate, said[0]!);
    writeWav(path.join(lj, "wavs/LJ001-0002.wav"), rate, said[1]!);
    fs.writeFileSync(
      path.join(lj, "metadata.csv"),
      `LJ001-0001|${sentence(0)}|${sentence(0)}\nLJ001-0002|${sentence(5)}|${sentence(5)}\nLJ001-0003|gone|gone\n`,
    );
    const r1 = await checkDataset(lj, { model: xttsV2 });
    expect(r1.format).toBe("ljspeech");
    expect(r1.clips.map((c) => c.clip)).toEqual(["wavs/LJ001-0001.wav", "wavs/LJ001-0002.wav", "wavs/LJ001-0003.wav"]);
    expect(finding(r1, "missing-file")?.clip).toBe("wavs/LJ001-0003.wav");
    expect(finding(r1, "eval-split-missing")?.severity).toBe("warning");

    const folder = tempDir("ft-folder");
    // stereo at 44.1 kHz: the check decodes any rate and channel count and reports them
    const stereo = new Int16Array(said[2]!.length * 2);
    said[2]!.forEach((s, i) => ((stereo[2 * i] = s), (stereo[2 * i + 1] = s)));
    const header = Buffer.alloc(44);
    header.write("RIFF", 0, "ascii");
    header.writeUInt32LE(36 + stereo.byteLength, 4);
    header.write("WAVEfmt ", 8, "ascii");
    header.writeUInt32LE(16, 16);
    header.writeUInt16LE(1, 20);
    header.writeUInt16LE(2, 22);
    header.writeUInt32LE(rate, 24);
    header.writeUInt32LE(rate * 4, 28);
    header.writeUInt16LE(4, 32);
    header.writeUInt16LE(16, 34);
    header.write("data", 36, "ascii");
    header.writeUInt32LE(stereo.byteLength, 40);
    fs.writeFileSync(path.join(folder, "a.wav"), Buffer.concat([header, Buffer.from(stereo.buffer)]));
    fs.writeFileSync(path.join(folder, "a.txt"), sentence(10));
    writeWav(path.join(folder, "b.wav"), rate, said[3]!);
    const r2 = await checkDataset(folder, { model: xttsV2 });
    expect(r2.format).toBe("folder");
    expect(r2.clips.map((c) => [c.clip, c.sourceChannels])).toEqual([
      ["a.wav", 2],
      ["b.wav", 1],
    ]);
    expect(finding(r2, "text-empty")?.clip).toBe("b.wav");
    expect(finding(r2, "audio-format")?.message).toMatch(/2 channels/);
    expect(r2.clips[0]!.seconds).toBeCloseTo(said[2]!.length / rate, 1);
  });
});

/** Stand-in transcriber: word times inside each sentence's known span, in proportion to word length. */
function standIn(spans: { start: number; end: number; text: string }[]): Transcriber {
  return {
    name: "stand-in (test)",
    async transcribe() {
      const words: Word[] = [];
      for (const s of spans) {
        const ws = s.text.split(" ");
        const total = ws.reduce((a, w) => a + w.length + 1, 0);
        let t = s.start;
        for (const w of ws) {
          const d = ((w.length + 1) / total) * (s.end - s.start);
          words.push({ word: w, start: t, end: t + d * 0.9 });
          t += d;
        }
      }
      return { words, language: "en" };
    },
  };
}

describe("finetune prepare", () => {
  it("cuts a long recording into clips of one or two sentences with their own text, and the check passes", async () => {
    const dir = tempDir("ft-prep");
    const parts: Int16Array[] = [silence(0.5, rate)];
    const spans: { start: number; end: number; text: string }[] = [];
    let at = parts[0]!.length;
    // a run-on "sentence" of ~14 s (four without full stops but the last), its longest pause in the middle
    const runOn = [SENTENCES - 4, SENTENCES - 3, SENTENCES - 2, SENTENCES - 1];
    const put = (audio: Int16Array, text: string, pause: number) => {
      spans.push({ start: at / rate, end: (at + audio.length) / rate, text });
      parts.push(audio, silence(pause, rate));
      at += audio.length + parts[parts.length - 1]!.length;
    };
    for (let i = 0; i < SENTENCES; i++) {
      if (i % 10 === 5 && i < 40) put(saidShort[(i - 5) / 10]!, SHORT[(i - 5) / 10]!, 0.35);
      put(said[i]!, runOn.slice(0, 3).includes(i) ? sentence(i * 5).replace(/\.$/, "") : sentence(i * 5), i === runOn[1] ? 0.7 : 0.35);
    }
    const long = path.join(dir, "long.wav");
    writeWav(long, rate, concat(parts));
    const out = path.join(dir, "dataset");
    const result = await prepareDataset([long], { model: xttsV2, transcriber: standIn(spans), out, speaker: "tester", language: "en" });

    expect(result.clips.length).toBeGreaterThan(10);
    const texts = spans.map((s) => s.text);
    for (const c of result.clips) {
      expect(c.seconds).toBeGreaterThanOrEqual(2);
      expect(c.seconds).toBeLessThanOrEqual(11);
      // one or two consecutive sentences, verbatim (a part of the run-on counts as its own sentence)
      const k = texts.findIndex((t) => c.text.startsWith(t));
      expect(k, c.text).toBeGreaterThanOrEqual(0);
      expect([texts[k], `${texts[k]} ${texts[k + 1]}`]).toContain(c.text);
      // the audio is those sentences': its length matches their span plus the edge buffers
      const n = c.text === texts[k] ? 1 : 2;
      const spanSeconds = spans[k + n - 1]!.end - spans[k]!.start;
      expect(c.seconds).toBeGreaterThan(spanSeconds - 0.2);
      expect(c.seconds).toBeLessThan(spanSeconds + 0.45);
      const decoded = await decodeAudio(path.join(out, c.file));
      expect(decoded.samples.length).toBe(Math.round(c.seconds * 22050));
    }
    // each short sentence went into a two-sentence clip with its neighbour
    for (const t of SHORT) expect(result.clips.find((c) => c.text.startsWith(t))?.sentences, t).toBe(2);
    // the run-on is split at its pause: its two halves are in different clips, none holds both
    const [a, b] = [texts[runOn[0]!]!, texts[runOn[2]!]!];
    expect(result.clips.some((c) => c.text.includes(a!) && c.text.includes(b!))).toBe(false);
    expect(result.clips.filter((c) => c.split === "eval").length).toBe(Math.round(result.clips.length * 0.15));
    expect(fs.readFileSync(path.join(out, "metadata_train.csv"), "utf8").split("\n")[0]).toBe("audio_file|text|speaker_name");
    expect(fs.readFileSync(path.join(out, "lang.txt"), "utf8").trim()).toBe("en");
    expect(codes(result.report, "error")).toEqual([]);
    expect(result.report.totals.keptTrainClips).toBe(result.clips.filter((c) => c.split === "train").length);
  });
});
