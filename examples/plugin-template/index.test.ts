/**
 * The template's own tests, with the SDK's harness: `testEngine` runs the engine the way the
 * host does (manifest defaults, options validated with their defaults, the voice resolved,
 * every chunk checked against the contract, abort carried), in-process. Copy and adapt them
 * with the plugin; then run `chorus plugin check <folder>` to try it inside a real engine worker.
 */
import { afterEach, describe, expect, it } from "vitest";
import { BadOptionError, VoiceNotFoundError, testEngine, type TestEngine } from "chorus/sdk";
import plugin from "./index.ts";

const open: TestEngine[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
});

async function loaded(): Promise<TestEngine> {
  const engine = await testEngine(import.meta.dirname, { plugin }); // ctx.dataDir: a scratch folder, removed by close()
  open.push(engine);
  return engine;
}

describe("plugin-template", () => {
  it("has a valid manifest whose default voice exists", async () => {
    const engine = await loaded();
    expect((await engine.voices()).map((v) => v.id)).toContain(engine.manifest.defaultVoice);
  });

  it("streams one chunk per word at a declared sample rate, not silent", async () => {
    const out = await (await loaded()).synthesize({ text: "One two three four." });
    expect(out.chunks).toHaveLength(4); // the harness already checked rate and sample type
    expect(Math.max(...out.chunks[0]!.samples)).toBeGreaterThan(5000);
  });

  it("speaks longer text for longer, and faster with speed", async () => {
    const engine = await loaded();
    const short = (await engine.synthesize({ text: "Hi." })).seconds;
    const long = (await engine.synthesize({ text: "This sentence has quite a few more words in it." })).seconds;
    const fast = (await engine.synthesize({ text: "This sentence has quite a few more words in it.", speed: 2 })).seconds;
    expect(long).toBeGreaterThan(short * 5);
    expect(fast).toBeLessThan(long * 0.75);
  });

  it("honours the volume option, with its default when not given", async () => {
    const engine = await loaded();
    const out = await engine.synthesize({ text: "Hi." });
    expect(out.request.options).toEqual({ volume: 0.5 }); // the manifest's default, as the host applies it
    const peak = async (volume: number) => Math.max(...(await engine.synthesize({ text: "Hi.", options: { volume } })).samples);
    expect(await peak(0.2)).toBeLessThan((await peak(0.8)) / 2);
  });

  it("refuses a bad option and an unknown voice as the host would", async () => {
    const engine = await loaded();
    await expect(engine.synthesize({ text: "Hi.", options: { volume: 3 } })).rejects.toBeInstanceOf(BadOptionError);
    await expect(engine.synthesize({ text: "Hi.", options: { loudness: 1 } })).rejects.toMatchObject({ option: "loudness" });
    await expect(engine.synthesize({ text: "Hi.", voice: "nobody" })).rejects.toBeInstanceOf(VoiceNotFoundError);
  });

  it("stops when the request is aborted", async () => {
    const out = await (await loaded()).synthesize({ text: "a b c d e f g h i j" }, { abortAfter: 2 });
    expect(out.aborted).toBe(true);
    expect(out.chunks).toHaveLength(2);
  });
});
