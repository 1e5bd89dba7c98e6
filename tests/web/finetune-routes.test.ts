/**
 * GET /api/finetune/clip and POST /api/finetune/transcript (the fine-tune page's "listen" and
 * "correct the transcript") over fastify inject, on datasets of real eSpeak NG clips in each
 * format the reader knows: AllTalk/coqui (train + eval CSVs), LJSpeech and a plain folder.
 * Confinement to finetune.datasetDirs, the backup, the rewritten file and the re-run check.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.ts";
import { createHost, type Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { ffmpegPath } from "../../core/audio/encoders/index.ts";
import { tempDir } from "../helpers/temp.ts";
import { Speaker, sentence, writeCoqui, writeWav } from "../finetune/helpers.ts";

const root = tempDir("ft-routes");
const outside = tempDir("ft-routes-outside");
let host: Host;
let app: FastifyInstance;
const speaker = new Speaker();
const WRONG = "Hi."; // far too few characters for the clip: a text-audio-mismatch finding

beforeAll(async () => {
  const audio = await Promise.all([0, 1, 2].map((i) => speaker.say(sentence(i))));
  const rate = speaker.sampleRate;
  // coqui: clip 0 with a wrong transcript in train, clip 2 in eval
  const coqui = path.join(root, "coqui");
  audio.forEach((a, i) => writeWav(path.join(coqui, "wavs", `c${i}.wav`), rate, a));
  writeCoqui(
    coqui,
    [
      { file: "wavs/c0.wav", text: WRONG },
      { file: "wavs/c1.wav", text: sentence(1) },
    ],
    [{ file: "wavs/c2.wav", text: sentence(2) }],
  );
  // LJSpeech: id|text|normalized
  const lj = path.join(root, "lj");
  audio.forEach((a, i) => writeWav(path.join(lj, "wavs", `LJ${i}.wav`), rate, a));
  fs.writeFileSync(path.join(lj, "metadata.csv"), `${[`LJ0|${WRONG}|${WRONG}`, `LJ1|${sentence(1)}|${sentence(1)}`, `LJ2|${sentence(2)}`].join("\r\n")}\r\n`);
  // plain folder: .txt beside each clip; clip 1 is FLAC (decoded to WAV for listening), clip 2 has no .txt
  const folder = path.join(root, "folder");
  audio.forEach((a, i) => writeWav(path.join(folder, `f${i}.wav`), rate, a));
  const flac = spawnSync(ffmpegPath(), ["-hide_banner", "-loglevel", "error", "-y", "-i", path.join(folder, "f1.wav"), path.join(folder, "f1.flac")]);
  expect(flac.status).toBe(0);
  fs.rmSync(path.join(folder, "f1.wav"));
  fs.writeFileSync(path.join(folder, "f0.txt"), `${WRONG}\n`);
  fs.writeFileSync(path.join(folder, "f1.txt"), `${sentence(1)}\n`);
  // a dataset whose row points outside, and a secret there
  writeWav(path.join(outside, "secret.wav"), rate, audio[0]!);
  const sneaky = path.join(root, "sneaky");
  fs.mkdirSync(sneaky);
  writeCoqui(sneaky, [{ file: path.relative(sneaky, path.join(outside, "secret.wav")), text: "Not yours." }], []);
  fs.symlinkSync(path.join(outside, "secret.wav"), path.join(sneaky, "linked.wav"));
  fs.appendFileSync(path.join(sneaky, "metadata_train.csv"), "linked.wav|Linked out.|tester\n");

  const config = loadConfig({ env: {}, overrides: { log: { level: "silent" }, finetune: { datasetDirs: [root] } } });
  host = createHost(config, { log: pino({ level: "silent" }) });
  app = await buildApp(host);
}, 60_000);
afterAll(async () => {
  await app?.close();
  await host?.close();
  await speaker.close();
});

const clip = (dataset: string, name: string, extra = "") =>
  app.inject({ url: `/api/finetune/clip?dataset=${encodeURIComponent(dataset)}&clip=${encodeURIComponent(name)}${extra}` });
const correct = (payload: Record<string, unknown>) => app.inject({ method: "POST", url: "/api/finetune/transcript", payload });
const codes = (report: { findings: { code: string; clip?: string }[] }, name: string) => report.findings.filter((f) => f.clip === name).map((f) => f.code);
const backups = (dir: string, file: string) => fs.readdirSync(dir).filter((f) => f.startsWith(`${file}.bak-`));

describe("GET /api/finetune/clip", () => {
  it("serves a WAV clip as it is on disk", async () => {
    const res = await clip("coqui", "wavs/c0.wav");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("audio/wav");
    expect(res.rawPayload.equals(fs.readFileSync(path.join(root, "coqui/wavs/c0.wav")))).toBe(true);
    const lj = await clip(path.join(root, "lj"), "wavs/LJ1.wav");
    expect([lj.statusCode, lj.rawPayload.length]).toEqual([200, fs.statSync(path.join(root, "lj/wavs/LJ1.wav")).size]);
  });

  it("decodes any other format to WAV through ffmpeg", async () => {
    const res = await clip("folder", "f1.flac");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("audio/wav");
    const body = res.rawPayload;
    expect(body.toString("latin1", 0, 4) + body.toString("latin1", 8, 12)).toBe("RIFFWAVE");
    const wavBytes = fs.statSync(path.join(root, "coqui/wavs/c1.wav")).size; // the same eSpeak audio as WAV
    expect(Math.abs(body.length - wavBytes)).toBeLessThan(0.02 * wavBytes);
  });

  it("refuses traversal, clips the metadata does not list, rows and symlinks that lead outside", async () => {
    const traversal = await clip("../", "x.wav");
    expect([traversal.statusCode, traversal.json().error.code, traversal.json().error.field]).toEqual([403, "CHORUS_ERR_DATASET_FORBIDDEN", "dataset"]);
    const abs = await clip(outside, "secret.wav");
    expect(abs.statusCode).toBe(403);
    const unlisted = await clip("coqui", "../../../etc/passwd");
    expect([unlisted.statusCode, unlisted.json().error.code, unlisted.json().error.field]).toEqual([404, "CHORUS_ERR_DATASET_NOT_FOUND", "clip"]);
    const metadata = await clip("coqui", "metadata_train.csv");
    expect(metadata.statusCode).toBe(404);
    const row = await clip("sneaky", path.relative(path.join(root, "sneaky"), path.join(outside, "secret.wav")));
    expect([row.statusCode, row.json().error.code, row.json().error.field]).toEqual([403, "CHORUS_ERR_DATASET_FORBIDDEN", "clip"]);
    const linked = await clip("sneaky", "linked.wav");
    expect([linked.statusCode, linked.json().error.code]).toEqual([403, "CHORUS_ERR_DATASET_FORBIDDEN"]);
    const missing = await clip("coqui", "wavs/c0.wav", "&split=eval");
    expect(missing.statusCode).toBe(404);
    const bad = await app.inject({ url: "/api/finetune/clip?dataset=coqui" });
    expect([bad.statusCode, bad.json().error.field]).toEqual([400, "clip"]);
  });
});

describe("POST /api/finetune/transcript", () => {
  it("coqui: rewrites the row's text column, keeps a backup, and the re-run check no longer flags it", async () => {
    const dir = path.join(root, "coqui");
    const before = fs.readFileSync(path.join(dir, "metadata_train.csv"), "utf8");
    const first = await app.inject({ method: "POST", url: "/api/finetune/check", payload: { dataset: "coqui" } });
    expect(codes(first.json(), "wavs/c0.wav")).toContain("text-audio-mismatch");
    const res = await correct({ dataset: "coqui", clip: "wavs/c0.wav", text: `  ${sentence(0)} ` });
    expect(res.statusCode).toBe(200);
    const { change, report } = res.json();
    expect(change).toMatchObject({ file: "metadata_train.csv", line: 2, before: WRONG, after: sentence(0) });
    expect(change.backup).toMatch(/^metadata_train\.csv\.bak-\d{8}T\d{6}Z$/);
    expect(fs.readFileSync(path.join(dir, change.backup), "utf8")).toBe(before);
    expect(fs.readFileSync(path.join(dir, "metadata_train.csv"), "utf8")).toBe(
      before.replace(`wavs/c0.wav|${WRONG}|tester`, `wavs/c0.wav|${sentence(0)}|tester`),
    );
    expect(codes(report, "wavs/c0.wav")).not.toContain("text-audio-mismatch");
    expect(report.clips.find((c: { clip: string }) => c.clip === "wavs/c0.wav").text).toBe(sentence(0));
    // the eval CSV's row, named by its split
    const evalRes = await correct({ dataset: "coqui", clip: "wavs/c2.wav", split: "eval", text: "The old sailor carried a wooden chair." });
    expect(evalRes.json().change).toMatchObject({ file: "metadata_eval.csv", line: 2 });
    expect(fs.readFileSync(path.join(dir, "metadata_eval.csv"), "utf8")).toContain("wavs/c2.wav|The old sailor carried a wooden chair.|tester\n");
    expect(backups(dir, "metadata_eval.csv")).toHaveLength(1);
  }, 60_000);

  it("coqui: a row whose old text held '|' (the text-pipe finding) becomes three columns again", async () => {
    const dir = path.join(root, "piped");
    fs.mkdirSync(path.join(dir, "wavs"), { recursive: true });
    fs.copyFileSync(path.join(root, "coqui/wavs/c1.wav"), path.join(dir, "wavs/p1.wav"));
    fs.writeFileSync(path.join(dir, "metadata_train.csv"), `audio_file|text|speaker_name\nwavs/p1.wav|A quiet | student painted|tester\n`);
    const first = await app.inject({ method: "POST", url: "/api/finetune/check", payload: { dataset: "piped" } });
    expect(codes(first.json(), "wavs/p1.wav")).toContain("text-pipe");
    const res = await correct({ dataset: "piped", clip: "wavs/p1.wav", text: sentence(1) });
    expect(res.json().change.before).toBe("A quiet | student painted");
    expect(fs.readFileSync(path.join(dir, "metadata_train.csv"), "utf8")).toBe(`audio_file|text|speaker_name\nwavs/p1.wav|${sentence(1)}|tester\n`);
    expect(codes(res.json().report, "wavs/p1.wav")).not.toContain("text-pipe");
  }, 60_000);

  it("LJSpeech: rewrites text and normalized, keeping the file's CRLF line ends", async () => {
    const dir = path.join(root, "lj");
    const res = await correct({ dataset: "lj", clip: "wavs/LJ0.wav", text: sentence(0) });
    expect(res.statusCode).toBe(200);
    expect(res.json().change).toMatchObject({ file: "metadata.csv", line: 1 });
    expect(fs.readFileSync(path.join(dir, "metadata.csv"), "utf8")).toBe(
      `${[`LJ0|${sentence(0)}|${sentence(0)}`, `LJ1|${sentence(1)}|${sentence(1)}`, `LJ2|${sentence(2)}`].join("\r\n")}\r\n`,
    );
    expect(backups(dir, "metadata.csv")).toHaveLength(1);
    const two = await correct({ dataset: "lj", clip: "wavs/LJ2.wav", text: "A quiet student." });
    expect(two.json().change.line).toBe(3);
    expect(fs.readFileSync(path.join(dir, "metadata.csv"), "utf8")).toContain("\r\nLJ2|A quiet student.\r\n");
    expect(backups(dir, "metadata.csv")).toHaveLength(2); // one per correction, never overwritten
    expect(codes(res.json().report, "wavs/LJ0.wav")).not.toContain("text-audio-mismatch");
  }, 60_000);

  it("plain folder: rewrites the .txt beside the clip (a backup kept), or writes a missing one", async () => {
    const dir = path.join(root, "folder");
    const res = await correct({ dataset: "folder", clip: "f0.wav", text: sentence(0) });
    expect(res.statusCode).toBe(200);
    expect(res.json().change).toMatchObject({ file: "f0.txt", before: WRONG });
    expect(fs.readFileSync(path.join(dir, "f0.txt"), "utf8")).toBe(`${sentence(0)}\n`);
    expect(fs.readFileSync(path.join(dir, res.json().change.backup), "utf8")).toBe(`${WRONG}\n`);
    expect(codes(res.json().report, "f0.wav")).not.toContain("text-audio-mismatch");
    const first = await app.inject({ method: "POST", url: "/api/finetune/check", payload: { dataset: "folder" } });
    expect(codes(first.json(), "f2.wav")).toContain("text-empty");
    const added = await correct({ dataset: "folder", clip: "f2.wav", text: sentence(2) });
    expect(added.json().change.backup).toBeUndefined();
    expect(fs.readFileSync(path.join(dir, "f2.txt"), "utf8")).toBe(`${sentence(2)}\n`);
    expect(codes(added.json().report, "f2.wav")).not.toContain("text-empty");
  }, 60_000);

  it("validates the text and the clip, and is confined like the check", async () => {
    const csv = fs.readFileSync(path.join(root, "coqui/metadata_train.csv"), "utf8");
    const count = backups(path.join(root, "coqui"), "metadata_train.csv").length;
    for (const text of ["", "   ", "a|b", "two\nlines"]) {
      const res = await correct({ dataset: "coqui", clip: "wavs/c1.wav", text });
      expect([res.statusCode, res.json().error.code, res.json().error.field]).toEqual([400, "CHORUS_ERR_REQUEST_INVALID", "text"]);
    }
    const unknown = await correct({ dataset: "coqui", clip: "wavs/nope.wav", text: "Fine." });
    expect([unknown.statusCode, unknown.json().error.field]).toEqual([404, "clip"]);
    const traversal = await correct({ dataset: "../", clip: "x.wav", text: "Fine." });
    expect([traversal.statusCode, traversal.json().error.code]).toEqual([403, "CHORUS_ERR_DATASET_FORBIDDEN"]);
    const abs = await correct({ dataset: outside, clip: "secret.wav", text: "Fine." });
    expect(abs.statusCode).toBe(403);
    const missingText = await correct({ dataset: "coqui", clip: "wavs/c1.wav" });
    expect([missingText.statusCode, missingText.json().error.field]).toEqual([400, "text"]);
    expect(fs.readFileSync(path.join(root, "coqui/metadata_train.csv"), "utf8")).toBe(csv);
    expect(backups(path.join(root, "coqui"), "metadata_train.csv")).toHaveLength(count);
  });
});
