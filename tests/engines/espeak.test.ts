/**
 * The eSpeak NG engine's start-up shortcuts (engines/espeak/index.ts) keep its audio as it was:
 * - a voice given by its language file (`gmw/en-us`) is loaded directly, without espeak
 *   building its voice list first, and sounds exactly as the voice given by its id;
 * - only the parts of memory a run can change are restored before each run, and every run
 *   still starts as fresh as a new process (the same request gives the same bytes, whatever ran before).
 * Real engine (the WASM build), real audio; the comparison runs espeak's own `main` both ways.
 */
import os from "node:os";
import fs from "node:fs";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import espeakPlugin from "../../engines/espeak/index.ts";
import { mutableRanges } from "../../engines/espeak/memory-ranges.ts";
import { ManifestSchema } from "../../core/registry/manifest-schema.ts";
import type { Engine } from "../../packages/sdk/src/index.ts";

const manifest = ManifestSchema.parse(JSON.parse(fs.readFileSync(new URL("../../engines/espeak/plugin.json", import.meta.url), "utf8")));
const noop = () => {};
let engine: Engine;

/** The engine's internals this test compares against (espeak's own `main`, its file system). */
interface Internals {
  runMain(args: string[]): number;
  module: { FS: { writeFile(p: string, d: string): void; readFile(p: string): Uint8Array; unlink(p: string): void } };
  voiceFiles: Map<string, string>;
  restore: [number, number][];
  pristine: Uint8Array;
}
const inner = () => engine as unknown as Internals;

/** espeak-ng's `main` on `text` with `-v voice`, as the engine runs it: the WAV's hash. */
function mainHash(voice: string, text: string): string {
  const { FS } = inner().module;
  try {
    FS.unlink("/tmp/out.wav");
  } catch {
    // not there
  }
  FS.writeFile("/tmp/in.txt", text);
  expect(inner().runMain(["-w", "/tmp/out.wav", "-v", voice, "-s", "175", "-p", "50", "-g", "0", "-a", "100", "-f", "/tmp/in.txt"])).toBe(0);
  return createHash("sha1").update(FS.readFile("/tmp/out.wav")).digest("hex");
}

async function speak(text: string, voice: string, options: Record<string, unknown> = {}): Promise<string> {
  const hash = createHash("sha1");
  for await (const chunk of engine.synthesize({ text, voice, speed: 1, pitch: 1, options }, new AbortController().signal))
    hash.update(new Uint8Array(chunk.samples.buffer, chunk.samples.byteOffset, chunk.samples.byteLength));
  return hash.digest("hex");
}

beforeAll(async () => {
  engine = await espeakPlugin.create({ manifest });
  await engine.load({
    profile: manifest.resources.profiles[0]!,
    device: { kind: "cpu", index: 0, simulated: false },
    pluginDir: "",
    settings: {},
    dataDir: os.tmpdir(),
    log: { debug: noop, info: noop, warn: noop, error: noop },
    reportMemory: noop,
  });
});
afterAll(async () => {
  await engine.unload();
});

describe("eSpeak voices by file", () => {
  it("sound exactly as by id, for voices whose file name has capitals and for those without", () => {
    const files = inner().voiceFiles;
    expect(files.get("en-us")).toBe("gmw/en-us"); // the file is gmw/en-US: a lower-case link
    expect(files.get("de")).toBe("gmw/de");
    for (const id of ["en-us", "en-gb-x-rp", "de", "fr-fr", "pt-br", "cmn"]) {
      const file = files.get(id);
      expect(file, id).toBeDefined();
      expect(mainHash(file!, "Hello world, 123 times."), id).toBe(mainHash(id, "Hello world, 123 times."));
    }
  });

  it("every listed voice has a file to load it by", async () => {
    const voices = await engine.listVoices();
    expect(voices.length).toBeGreaterThan(100);
    expect(voices.filter((v) => !inner().voiceFiles.has(v.id)).map((v) => v.id)).toEqual([]);
  });
});

describe("eSpeak memory restore", () => {
  it("restores only what a run can change: the embedded data files are left out", () => {
    const ranges = inner().restore;
    const restored = ranges.reduce((n, [a, b]) => n + b - a, 0);
    expect(restored).toBeGreaterThan(0);
    expect(restored).toBeLessThan(inner().pristine.length / 4);
  });

  it("each run starts fresh: the same request gives the same audio after other voices and options ran", async () => {
    const text = "The committee met on Tuesday. Several members raised concerns.";
    const first = await speak(text, "en-us");
    await speak("Guten Tag, wie geht es Ihnen?", "de", { variant: "m3", wordGap: 5 });
    await speak("Bonjour tout le monde.", "fr-fr", { amplitude: 150 });
    expect(await speak(text, "en-us")).toBe(first);
  });

  it("mutableRanges: the complement of the embedded files, or everything when the table is absent or odd", () => {
    const memory = new Uint8Array(256);
    const view = new DataView(memory.buffer);
    // table at 200: {name 180, 10 bytes at 20}, {name 190, 30 bytes at 100}, end
    [180, 10, 20, 190, 30, 100, 0].forEach((v, i) => view.setUint32(200 + 4 * i, v, true));
    expect(mutableRanges(memory, 200, 240)).toEqual([
      [0, 20],
      [30, 100],
      [130, 240],
    ]);
    expect(mutableRanges(memory, undefined, 240)).toEqual([[0, 240]]);
    view.setUint32(208, 250, true); // data past the snapshot: not the layout expected
    expect(mutableRanges(memory, 200, 240)).toEqual([[0, 240]]);
  });
});
