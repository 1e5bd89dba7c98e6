/** The espeak-ng wrapper, in-process; it needs the espeak-ng program (skipped without it). */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { VoiceNotFoundError, manifestWithDefaults, type AudioChunk, type Engine, type SynthesisRequest } from "chorus/sdk";
import plugin, { parseVoices } from "./index.ts";

const manifest = manifestWithDefaults(JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "plugin.json"), "utf8")));
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const installed = (() => {
  try {
    execFileSync("espeak-ng", ["--version"]);
    return true;
  } catch {
    return false;
  }
})();

async function engine(settings: Record<string, unknown> = {}): Promise<Engine> {
  const e = await plugin.create({ manifest });
  await e.load({
    profile: manifest.resources.profiles[0]!,
    device: { kind: "cpu", index: 0, simulated: false },
    reportMemory: () => {},
    pluginDir: import.meta.dirname,
    settings,
    dataDir: "/tmp",
    log: silent,
  });
  return e;
}

async function seconds(e: Engine, request: Partial<SynthesisRequest>, signal = new AbortController().signal): Promise<number> {
  const chunks: AudioChunk[] = [];
  for await (const c of e.synthesize({ text: "Hello from a child process.", voice: "en-us", speed: 1, pitch: 1, options: {}, ...request }, signal))
    chunks.push(c);
  expect(chunks[0]!.sampleRate).toBe(22050);
  return chunks.reduce((n, c) => n + c.samples.length, 0) / 22050;
}

it("parses the voice listing", () => {
  const listing =
    "Pty Language       Age/Gender VoiceName          File\n 5  en-us           --/M      English_(America)  gmw/en-US\n 5  de              --/F      German             gmw/de\n";
  expect(parseVoices(listing)).toEqual([
    { id: "en-us", name: "English (America)", languages: ["en-us"], gender: "male" },
    { id: "de", name: "German", languages: ["de"], gender: "female" },
  ]);
});

it("fails to load, saying what to install, when the program is missing", async () => {
  await expect(engine({ binary: "/nonexistent/espeak-ng" })).rejects.toThrow(/apt-get install espeak-ng/);
});

describe.skipIf(!installed)("with espeak-ng installed", () => {
  it("speaks, longer for longer text and shorter when faster", async () => {
    const e = await engine();
    expect((await e.listVoices()).map((v) => v.id)).toContain("en-us");
    const short = await seconds(e, { text: "Hi." });
    const long = await seconds(e, { text: "This is a much longer sentence than the first one was." });
    expect(long).toBeGreaterThan(short * 2);
    expect(await seconds(e, { text: "This is a much longer sentence than the first one was.", speed: 2 })).toBeLessThan(long * 0.75);
  });

  it("refuses unknown voices and stops when aborted", async () => {
    const e = await engine();
    await expect(seconds(e, { voice: "klingon" })).rejects.toBeInstanceOf(VoiceNotFoundError);
    const controller = new AbortController();
    controller.abort();
    await expect(seconds(e, {}, controller.signal)).rejects.toMatchObject({ code: "ENGINE_ABORTED" });
  });
});
