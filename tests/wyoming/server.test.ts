/**
 * The Wyoming server over the real engines and the `tonal` test engine, driven by a client
 * written from the protocol description: Home Assistant's exact sequences (describe on a
 * fresh connection, non-streamed synthesize with {name, speaker}, the streaming sequence with
 * the compatibility synthesize), both framings, voice resolution, constant audio formats.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startWyoming } from "../../core/wyoming/index.ts";
import { ensureTestVoices } from "../fixtures/piper/generate-voices.ts";
import { testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";
import { waitFor } from "../hotswap/server.ts";
import { audioGroups, toneHz, WyomingClient, type Framing } from "./client.ts";
import { checkGroup, useWyoming } from "./setup.ts";

const wy = useWyoming("test-wyoming");
const connect = () => wy.connect();
const describeInfo = () => wy.describeInfo();
const synthesize = (data: Record<string, unknown>, framing?: Framing) => wy.synthesize(data, framing);
const dataDir = wy.dataDir;
const rms = (pcm: Int16Array) => Math.sqrt(pcm.reduce((s, x) => s + x * x, 0) / pcm.length);

describe("describe -> info", () => {
  it("lists one installed streaming TTS program with the voices of every engine as engine:voice", async () => {
    const info = await describeInfo();
    for (const key of ["asr", "tts", "handle", "intent", "wake", "mic", "snd"]) expect(Array.isArray(info[key])).toBe(true);
    expect(info.tts).toHaveLength(1);
    const program = info.tts[0];
    expect(program).toMatchObject({ name: "chorus", installed: true, supports_synthesize_streaming: true, attribution: { name: "Chorus" } });
    expect(typeof program.version).toBe("string");
    const names = program.voices.map((v: { name: string }) => v.name);
    for (const name of ["espeak:en-us", "espeak:de", "flite:slt", "flite:kal16", "piper:test-single", "piper:test-multi", "piper:test-de", "tonal:steady"])
      expect(names).toContain(name);
    for (const v of program.voices) {
      expect(v).toMatchObject({ installed: true, attribution: { name: expect.any(String) } });
      expect(v.description).toEqual(expect.any(String));
      expect(v.languages.length).toBeGreaterThan(0);
      expect("speakers" in v && "version" in v).toBe(true);
    }
    const byName = (n: string) => program.voices.find((v: { name: string }) => v.name === n);
    expect(byName("flite:slt")).toMatchObject({ description: "SLT (US English, female) (Flite)", languages: ["en_US"], speakers: null });
    // Home Assistant shows the description as the voice's label: no link in it (eSpeak's name for Cherokee has one).
    expect(byName("espeak:chr-us-qaaa-x-west").description).toBe("Cherokee (eSpeak NG)");
    for (const v of program.voices) expect(v.description).not.toMatch(/https?:|www\./);
    expect(byName("piper:test-multi").speakers).toEqual([{ name: "alice" }, { name: "bob" }, { name: "carol" }, { name: "dave" }]);
    expect(byName("piper:test-de").languages).toContain("de");
    expect(byName("tonal:shifting")).toMatchObject({ languages: ["en_GB"], speakers: [{ name: "low" }, { name: "high" }] });
  });

  it("answers while an engine is still loading, then lists its voices once it has loaded", async () => {
    const gatedData = path.join(dataDir, "gated");
    const gated = testHost({ dataDir: gatedData, engines: { dirs: ["tests/wyoming/fixtures/gated"], default: "gated" }, wyoming: { port: 0 } });
    const gatedServer = await startWyoming(gated);
    let warm = false;
    void gatedServer.warmed.then(() => (warm = true));
    try {
      // The warm-up is loading `gated`, whose load waits for a file: describe must not wait.
      const client = await WyomingClient.connect(gatedServer.port);
      client.send("describe");
      const [info] = await client.until("info");
      client.close();
      expect(warm).toBe(false);
      expect((info!.data.tts as any[])[0].voices).toEqual([
        expect.objectContaining({ name: "gated", description: "Gated (default voice)", languages: ["fr"] }),
      ]);
      fs.mkdirSync(path.join(gatedData, "engines", "gated"), { recursive: true });
      fs.writeFileSync(path.join(gatedData, "engines", "gated", "open"), "");
      await gatedServer.warmed;
      expect(gatedServer.voices.list().map((v) => v.name)).toEqual(["gated:held"]);
      // Kept for the next start: listed before any engine is asked.
      await gatedServer.close();
      const again = await startWyoming(gated);
      try {
        expect(again.voices.list().map((v) => v.name)).toEqual(["gated:held"]);
      } finally {
        await again.close();
      }
    } finally {
      await gatedServer.close();
      await gated.close();
    }
  });

  it("answers from what it knows without loading an engine, listing an engine not yet asked by its default voice", async () => {
    const cold = testHost({
      dataDir: path.join(dataDir, "cold"),
      engines: { dirs: ["engines", "tests/wyoming/fixtures/plugins"] },
      wyoming: { port: 0, warmVoices: false },
    });
    const coldServer = await startWyoming(cold);
    try {
      const client = await WyomingClient.connect(coldServer.port);
      client.send("describe", undefined, "inline");
      const [info] = await client.until("info");
      client.close();
      const voices = (info!.data.tts as any[])[0].voices;
      // Every engine in engines/ (the list grows as engines are added) and the fixture's.
      const builtIn = fs.readdirSync("engines").filter((d) => fs.existsSync(path.join("engines", d, "plugin.json")));
      expect(builtIn).toEqual(expect.arrayContaining(["espeak", "flite", "piper"]));
      // An engine that cannot run yet (a Python engine before `chorus plugin setup`) is not offered.
      const runnable = builtIn.filter((id) => cold.registry.manifest(id));
      expect(runnable).not.toContain("xtts");
      expect(voices.map((v: { name: string }) => v.name).sort()).toEqual([...runnable, "tonal"].sort());
      expect(voices.find((v: { name: string }) => v.name === "flite")).toMatchObject({ description: "Flite (default voice)", languages: ["en", "en_US"] });
      for (const id of ["espeak", "flite", "piper", "tonal"]) expect(cold.scheduler.isLoaded(id)).toBe(false);
    } finally {
      await coldServer.close();
      await cold.close();
    }
  });
});

describe("an engine with no voices installed", () => {
  it("is not offered (its 'default voice' could only fail), and shows up once a voice is installed", async () => {
    const empty = tempDir("wyoming-no-voices");
    const bare = testHost({
      dataDir: path.join(dataDir, "bare"),
      engines: { dirs: ["engines"], settings: { piper: { voiceDirs: [empty] } } },
      wyoming: { port: 0 },
    });
    const bareServer = await startWyoming(bare);
    const names = () => bareServer.voices.list().map((v) => v.name);
    try {
      await bareServer.warmed;
      expect(bare.scheduler.isLoaded("piper")).toBe(true); // asked at start: it answered with no voices
      expect(names()).toContain("espeak:en-us");
      expect(names().filter((n) => n === "piper" || n.startsWith("piper:"))).toEqual([]);
      const voices = ensureTestVoices();
      for (const ext of [".onnx", ".onnx.json"]) fs.copyFileSync(path.join(voices, `test-single${ext}`), path.join(empty, `late-voice${ext}`));
      // A describe asks the loaded engine again once its list is over 5 s old.
      await waitFor(() => names().includes("piper:late-voice"), 60_000, "piper:late-voice listed");
    } finally {
      await bareServer.close();
      await bare.close();
    }
  });
});

describe("voices added while running", () => {
  it("shows a Piper voice installed while Piper is loaded on a later describe", async () => {
    const voices = ensureTestVoices();
    for (const ext of [".onnx", ".onnx.json"]) fs.copyFileSync(path.join(voices, `test-single${ext}`), path.join(wy.extraVoices, `fresh-voice${ext}`));
    const names = async () => ((await describeInfo()).tts[0].voices as { name: string }[]).map((v) => v.name);
    expect(wy.host.scheduler.isLoaded("piper")).toBe(true); // loaded by the warm-up
    // A describe asks a loaded engine again when its list is over 5 s old (in the background).
    await waitFor(async () => (await names()).includes("piper:fresh-voice"), 60_000, "piper:fresh-voice in the info");
  });
});

describe("synthesize (non-streamed)", () => {
  it("returns one audio group of plausible speech for Home Assistant's {name, speaker}, in both framings", async () => {
    const text = "The quick brown fox jumps over the lazy dog.";
    for (const framing of ["data_length", "inline"] as const) {
      const events = await synthesize({ text, voice: { name: "flite:slt", speaker: null } }, framing);
      expect(events.filter((e) => e.type === "audio-stop")).toHaveLength(1);
      const { rate, pcm, seconds } = checkGroup(events);
      expect(rate).toBe(16000);
      expect(seconds).toBeGreaterThan(1.5);
      expect(seconds).toBeLessThan(6);
      expect(rms(pcm)).toBeGreaterThan(300);
    }
    const espeak = checkGroup(await synthesize({ text, voice: { name: "espeak:en-us" } }));
    expect(espeak.rate).toBe(22050);
    expect(espeak.seconds).toBeGreaterThan(1.5);
    expect(espeak.seconds).toBeLessThan(6);
  });

  it("synthesises with a Piper voice and passes the speaker", async () => {
    const text = "Hello there. How are you?";
    const bob = checkGroup(await synthesize({ text, voice: { name: "piper:test-multi", speaker: "bob" } }));
    expect(bob.rate).toBe(16000);
    expect(bob.seconds).toBeGreaterThan(0.1);
    const tone = checkGroup(await synthesize({ text: "One two three four five six.", voice: { name: "tonal:shifting", speaker: "high" } }));
    expect(toneHz(tone.pcm, tone.rate)).toBeGreaterThan(800);
    const low = checkGroup(await synthesize({ text: "One two three four five six.", voice: { name: "tonal:shifting", speaker: "low" } }));
    expect(toneHz(low.pcm, low.rate)).toBeLessThan(500);
  });

  it("resolves a bare voice id, an engine id, a language and no voice at all", async () => {
    expect(checkGroup(await synthesize({ text: "Hello.", voice: { name: "kal16" } })).rate).toBe(16000); // flite's kal16
    // A listed name in another case, as a bare id already matched (it was 'engine FLITE is not installed').
    expect(checkGroup(await synthesize({ text: "Hello.", voice: { name: "FLITE:KAL16" } })).rate).toBe(16000);
    expect(checkGroup(await synthesize({ text: "Hello.", voice: { name: "tonal" } })).rate).toBe(16000);
    expect(checkGroup(await synthesize({ text: "Hello.", voice: { language: "en_GB" } })).rate).toBeGreaterThan(0);
    expect(checkGroup(await synthesize({ text: "Hello." })).rate).toBe(22050); // the default engine, espeak
  });

  it("keeps one rate when an engine changes rate within a request, and resamples to wyoming.sampleRate", async () => {
    const mixed = checkGroup(await synthesize({ text: "First part here. Now 24k comes. Last one.", voice: { name: "tonal:steady" } }));
    expect(mixed.rate).toBe(16000);
    expect(mixed.seconds).toBeCloseTo(0.05 * 9, 1);
    const fixed = testHost({ dataDir: path.join(dataDir, "fixed"), wyoming: { port: 0, warmVoices: false, sampleRate: 16000, samplesPerChunk: 512 } });
    const fixedServer = await startWyoming(fixed);
    try {
      const client = await WyomingClient.connect(fixedServer.port);
      client.send("synthesize", { text: "The quick brown fox.", voice: { name: "espeak:en-us" } });
      const { rate, seconds } = checkGroup(await client.until("audio-stop"), 512);
      client.close();
      expect(rate).toBe(16000);
      expect(seconds).toBeGreaterThan(0.5);
    } finally {
      await fixedServer.close();
      await fixed.close();
    }
  });
});

describe("streaming synthesis", () => {
  it("sends one audio group per sentence as sentences complete, ignores the compatibility synthesize, ends with synthesize-stopped", async () => {
    const client = await connect();
    client.send("synthesize-start", { voice: { name: "espeak:en-us" } });
    client.send("synthesize-chunk", { text: "Hello there, my" });
    client.send("synthesize-chunk", { text: " friend. How are" }, "inline");
    // The first sentence is complete now: its audio comes before the text ends.
    const first = await client.until("audio-stop");
    expect(audioGroups(first)).toHaveLength(1);
    client.send("synthesize-chunk", { text: " you today? I am" });
    client.send("synthesize-chunk", { text: " fine, thank you" });
    client.send("synthesize", { text: "Hello there, my friend. How are you today? I am fine, thank you", voice: { name: "espeak:en-us" } });
    client.send("synthesize-stop");
    const rest = await client.until("synthesize-stopped");
    client.close();
    const events = [...first, ...rest];
    expect(events.at(-1)!.type).toBe("synthesize-stopped");
    const groups = audioGroups(events);
    expect(groups).toHaveLength(3); // the compatibility synthesize added nothing
    for (const g of groups) {
      expect(g.start.data).toMatchObject({ rate: 22050, width: 2, channels: 1 });
      for (const c of g.chunks) expect(c.data).toMatchObject({ rate: 22050, width: 2, channels: 1 });
      expect(g.pcm.length / 22050).toBeGreaterThan(0.4);
    }
    expect(events.filter((e) => e.type === "error")).toEqual([]);
  });

  it("keeps the first group's rate for every group when the engine's rate changes", async () => {
    const client = await connect();
    client.send("synthesize-start", { voice: { name: "tonal:steady" } });
    client.send("synthesize-chunk", { text: "One two three four. Here 24k is used now. And back to" });
    client.send("synthesize-chunk", { text: " sixteen." });
    client.send("synthesize-stop");
    const groups = audioGroups(await client.until("synthesize-stopped"));
    client.close();
    expect(groups).toHaveLength(3);
    for (const g of groups) for (const e of [g.start, ...g.chunks]) expect(e.data.rate).toBe(16000);
    expect(groups[1]!.pcm.length / 16000).toBeCloseTo(0.05 * 5, 2); // 5 words made at 24 kHz, sent at 16 kHz
  });

  it("speaks a long text without sentence ends before it ends, in pieces under text.maxLength", async () => {
    const client = await connect();
    client.send("synthesize-start", { voice: { name: "tonal:steady" } });
    const words = Array.from({ length: 300 }, (_, i) => `w${i}`).join(" "); // 1,490 characters, no sentence end
    client.send("synthesize-chunk", { text: `${words} ` });
    const early = audioGroups(await client.until("audio-stop"));
    expect(early).toHaveLength(1);
    client.send("synthesize-chunk", { text: "and the end. " });
    client.send("synthesize-stop");
    const groups = [...early, ...audioGroups(await client.until("synthesize-stopped"))];
    client.close();
    const words16k = groups.reduce((n, g) => n + g.pcm.length, 0) / (16000 * 0.05);
    expect(words16k).toBeCloseTo(303, 0); // every word once
  });

  it("answers synthesize-stop with synthesize-stopped after an error (unknown voice)", async () => {
    const client = await connect();
    client.send("synthesize-start", { voice: { name: "flite:nobody" } });
    client.send("synthesize-chunk", { text: "Hello. World." });
    client.send("synthesize-stop");
    const events = await client.until("synthesize-stopped");
    client.close();
    expect(events.filter((e) => e.type === "error").map((e) => e.data.code)).toEqual(["CHORUS_ERR_VOICE_NOT_FOUND"]);
    expect(audioGroups(events)).toHaveLength(0);
  });
});

describe("metrics", () => {
  it("counts requests by kind and result, and open connections, in GET /metrics' registry", async () => {
    const value = async (name: string, labels: Record<string, string>) => {
      const metric = await wy.host.scheduler.metrics.registry.getSingleMetric(name)!.get();
      return metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
    };
    const before = await value("chorus_wyoming_requests_total", { kind: "synthesize", result: "ok" });
    const failedBefore = await value("chorus_wyoming_requests_total", { kind: "synthesize", result: "error" });
    await synthesize({ text: "Counted.", voice: { name: "flite:slt" } });
    await synthesize({ text: "Counted.", voice: { name: "flite:nobody" } });
    expect(await value("chorus_wyoming_requests_total", { kind: "synthesize", result: "ok" })).toBe(before + 1);
    expect(await value("chorus_wyoming_requests_total", { kind: "synthesize", result: "error" })).toBe(failedBefore + 1);
    expect(await value("chorus_wyoming_requests_total", { kind: "describe", result: "ok" })).toBeGreaterThan(0);
    const text = await wy.host.scheduler.metrics.registry.metrics();
    expect(text).toMatch(/^chorus_wyoming_connections \d+$/m);
  });
});
