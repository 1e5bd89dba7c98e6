/** Voice discovery: pairs, bad files reported (never fatal), re-scan on change, config validation. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { VoiceCatalog } from "../../engines/piper/voice-catalog.ts";
import { parseVoiceConfig } from "../../engines/piper/voice-config.ts";
import { parseSettings } from "../../engines/piper/settings.ts";
import { ensureTestVoices } from "../fixtures/piper/generate-voices.ts";
import { until } from "../helpers/wait.ts";
import { loadEngine, testLog, type LogLine } from "./helpers.ts";

let source: string;
const temps: string[] = [];
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "piper-voices-"));
  temps.push(d);
  return d;
};
const copyVoice = (name: string, to: string, as = name) => {
  fs.copyFileSync(path.join(source, `${name}.onnx`), path.join(to, `${as}.onnx`));
  fs.copyFileSync(path.join(source, `${name}.onnx.json`), path.join(to, `${as}.onnx.json`));
};
const baseConfig = () => JSON.parse(fs.readFileSync(path.join(source, "test-single.onnx.json"), "utf8")) as Record<string, unknown>;

beforeAll(() => {
  source = ensureTestVoices();
});
afterEach(() => {
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("voice config", () => {
  it("applies Piper's defaults to optional fields", () => {
    const { inference, phoneme_type, speaker_id_map, ...rest } = baseConfig();
    void inference, phoneme_type, speaker_id_map;
    const config = parseVoiceConfig(rest);
    expect(config.inference).toEqual({ noise_scale: 0.667, length_scale: 1, noise_w: 0.8 });
    expect(config.phoneme_type).toBe("espeak");
    expect(config.speaker_id_map).toEqual({});
  });

  it("names every missing or invalid required field", () => {
    const { num_speakers, espeak, ...rest } = baseConfig();
    void num_speakers, espeak;
    expect(() => parseVoiceConfig({ ...rest, audio: { sample_rate: "fast" } }, "x.onnx.json")).toThrow(
      /x\.onnx\.json: .*audio\.sample_rate.*espeak.*num_speakers/,
    );
    expect(() => parseVoiceConfig({ ...baseConfig(), phoneme_type: "ipa" })).toThrow(/phoneme_type/);
    expect(() => parseVoiceConfig({ ...baseConfig(), speaker_id_map: { a: 3 } })).toThrow(/speaker_id_map\.a: id 3 is not below num_speakers 1/);
  });
});

describe("catalogue", () => {
  it("finds pairs and reports bad files with reasons, keeping the good voices", () => {
    const dir = tempDir();
    copyVoice("test-single", dir, "good");
    fs.writeFileSync(path.join(dir, "notjson.onnx.json"), "{ nope");
    fs.writeFileSync(path.join(dir, "notjson.onnx"), "x");
    fs.writeFileSync(path.join(dir, "invalid.onnx.json"), JSON.stringify({ ...baseConfig(), num_symbols: -1 }));
    fs.writeFileSync(path.join(dir, "invalid.onnx"), "x");
    fs.copyFileSync(path.join(source, "test-single.onnx"), path.join(dir, "lonely.onnx"));
    fs.copyFileSync(path.join(source, "test-single.onnx.json"), path.join(dir, "orphan.onnx.json"));
    fs.writeFileSync(path.join(dir, "README.txt"), "ignored");
    const lines: LogLine[] = [];
    const catalog = new VoiceCatalog([dir, path.join(dir, "missing-dir")], testLog(lines));
    catalog.refresh();
    expect(catalog.list().map((v) => v.id)).toEqual(["good"]);
    const problems = Object.fromEntries(catalog.getProblems().map((p) => [path.basename(p.path), p.reason]));
    expect(problems["notjson.onnx.json"]).toMatch(/not valid JSON/);
    expect(problems["invalid.onnx.json"]).toMatch(/num_symbols/);
    expect(problems["lonely.onnx"]).toMatch(/no voice config lonely\.onnx\.json/);
    expect(problems["orphan.onnx.json"]).toMatch(/no model orphan\.onnx/);
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(4);
    // Nothing changed: no re-scan, no repeated warnings.
    expect(catalog.refresh()).toBe(false);
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(4);
  });

  it("the first directory wins a duplicate name; the other is reported", () => {
    const a = tempDir();
    const b = tempDir();
    copyVoice("test-single", a, "same");
    copyVoice("test-multi", b, "same");
    const catalog = new VoiceCatalog([a, b], testLog());
    catalog.refresh();
    expect(catalog.get("same")!.dir).toBe(a);
    expect(catalog.getProblems()).toEqual([{ path: path.join(b, "same.onnx.json"), reason: expect.stringMatching(/already provided by/) }]);
  });

  it("the engine sees voices added and removed while it runs (listVoices re-scans; the watcher too)", async () => {
    const dir = tempDir();
    const lines: LogLine[] = [];
    const engine = await loadEngine({ voiceDirs: [dir] }, lines);
    try {
      expect(await engine.listVoices()).toEqual([]);
      copyVoice("test-single", dir, "added");
      // The watcher notices without anyone asking.
      await until(() => lines.some((l) => l.msg.includes("voices changed")), "the watcher's 'voices changed'");
      expect(lines.find((l) => l.msg.includes("voices changed"))?.extra).toMatchObject({ added: ["added"] });
      expect((await engine.listVoices()).map((v) => v.id)).toEqual(["added"]);
      fs.rmSync(path.join(dir, "added.onnx"));
      expect(await engine.listVoices()).toEqual([]);
      fs.writeFileSync(path.join(dir, "bad.onnx.json"), "{}");
      fs.writeFileSync(path.join(dir, "bad.onnx"), "");
      expect(await engine.listVoices()).toEqual([]);
      expect((await engine.health!()).detail).toMatch(/bad\.onnx\.json.*audio/);
    } finally {
      await engine.unload();
    }
  });
});

describe("missing voice directories", () => {
  it("are a warning at load, once, and the other directories still work", async () => {
    const missing = path.join(tempDir(), "no-such-dir");
    const good = tempDir();
    copyVoice("test-single", good, "present");
    const lines: LogLine[] = [];
    const engine = await loadEngine({ voiceDirs: [missing, good], watch: false }, lines);
    try {
      expect((await engine.listVoices()).map((v) => v.id)).toEqual(["present"]);
      await engine.listVoices();
      const warnings = lines.filter((l) => l.level === "warn");
      expect(warnings).toEqual([{ level: "warn", msg: `piper: voice directory ${missing} does not exist`, extra: { dir: missing } }]);
      expect(lines.some((l) => l.level === "error")).toBe(false);
      // Created later, it is found without a restart.
      fs.mkdirSync(missing);
      copyVoice("test-single", missing, "later");
      expect((await engine.listVoices()).map((v) => v.id).sort()).toEqual(["later", "present"]);
    } finally {
      await engine.unload();
    }
  });
});

describe("settings", () => {
  it("defaults voiceDirs to voices/piper under the working directory and resolves relative paths", () => {
    expect(parseSettings({}, "/srv/chorus").voiceDirs).toEqual(["/srv/chorus/voices/piper"]);
    expect(parseSettings({ voiceDirs: ["v", "/abs/v"] }, "/srv").voiceDirs).toEqual(["/srv/v", "/abs/v"]);
    expect(parseSettings({}).sentenceSilenceSeconds).toBe(0.2);
    expect(() => parseSettings({ graphOptimization: "max" })).toThrow(/graphOptimization/);
  });
});
