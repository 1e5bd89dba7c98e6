/**
 * The XTTS engine (engines/xtts, its real code) against STAND-INS for coqui-tts and torch
 * (tests/xtts/standin: same module paths, classes, signatures, return shapes and CUDA OOM
 * exception type; pure Python; every call recorded). coqui-tts cannot be installed here and
 * no model can be downloaded, so the audio is synthetic. The engine's environment is built by
 * `chorus plugin setup` (without coqui-tts and torch: the test declares no requirements) and
 * the stand-ins are installed into it with a .pth file. A fake nvidia-smi shows one 8 GB GPU,
 * so the scheduler places the GPU profiles on a real (not simulated) device index:
 * the second of two cards, the first being nearly full.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wavFile } from "../../core/audio/output/wav.ts";
import { runChorusAsync } from "../helpers/process.ts";
import { startServer, tempDir, waitFor, type TestServer } from "../hotswap/server.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const STANDIN = path.join(import.meta.dirname, "standin");
let server: TestServer;
let events: string;
let voicesDir: string;
let modelsDir: string;
let serverEnv: Record<string, string>;
let killMarker: string;
/** While this file exists, the stand-in's inference_stream waits before its first chunk. */
let gate: string;
const modelsDirOf = () => modelsDir;

type Event = { call: string; [k: string]: unknown };
const recorded = (): Event[] =>
  fs.existsSync(events)
    ? fs
        .readFileSync(events, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Event)
    : [];
const calls = (name: string) => recorded().filter((e) => e.call === name);

function clip(seconds: number, freq: number): Buffer {
  const rate = 22050;
  const samples = new Int16Array(Math.round(seconds * rate));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / rate));
  return wavFile(rate, [samples]);
}

function model(dir: string, standin: Record<string, unknown> = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "config.json"),
    JSON.stringify({ temperature: 0.75, repetition_penalty: 5.0, gpt_cond_len: 30, gpt_cond_chunk_len: 4, max_ref_len: 30, standin }),
  );
  fs.writeFileSync(path.join(dir, "model.pth"), "stand-in checkpoint");
  fs.writeFileSync(path.join(dir, "vocab.json"), "{}");
  // The stand-in torch.save format (JSON): name -> latents.
  fs.writeFileSync(
    path.join(dir, "speakers_xtts.pth"),
    JSON.stringify({ "Ana Florence": { gpt_cond_latent: { __tensor__: [0.3] }, speaker_embedding: { __tensor__: [0.3] } } }),
  );
}

async function xtts(body: Record<string, unknown>) {
  const res = await fetch(`${server.url}/api/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ engine: "xtts", format: "pcm", ...body }),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body: buf, samples: new Int16Array(buf.buffer, buf.byteOffset, buf.length >> 1) };
}

/** The stand-in's chunks are 480 samples: [index/1000, level, level, ...]. */
function chunksOf(samples: Int16Array): { index: number; level: number }[] {
  const out = [];
  for (let i = 0; i + 480 <= samples.length; i += 480)
    out.push({ index: Math.round((samples[i]! / 32767) * 1000), level: Math.round((samples[i + 1]! / 32767) * 1000) });
  return out;
}

beforeAll(async () => {
  const engines = tempDir("xtts-engines");
  const dir = path.join(engines, "xtts");
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(path.join(ROOT, "engines/xtts")).filter((n) => n.endsWith(".py")))
    fs.symlinkSync(path.join(ROOT, "engines/xtts", f), path.join(dir, f));
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "engines/xtts/plugin.json"), "utf8")) as Record<string, unknown>;
  // Only the environment differs from the shipped manifest: the stand-ins replace coqui-tts and torch.
  fs.writeFileSync(
    path.join(dir, "plugin.json"),
    JSON.stringify({
      ...manifest,
      $schema: undefined,
      python: { version: ">=3.10", requirements: [] },
      resources: { ...(manifest.resources as object), fallbacks: ["espeak"] },
    }),
  );
  fs.cpSync(path.join(ROOT, "engines/espeak"), path.join(engines, "espeak"), { recursive: true });
  const oom = path.join(engines, "xtts-oom");
  fs.mkdirSync(oom);
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".py"))) fs.symlinkSync(path.join(ROOT, "engines/xtts", f), path.join(oom, f));
  fs.writeFileSync(path.join(oom, "plugin.json"), JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(dir, "plugin.json"), "utf8")), id: "xtts-oom" }));

  const models = tempDir("xtts-models");
  modelsDir = models;
  model(path.join(models, "base"));
  model(path.join(models, "oomload"), { oom: "load" });
  model(path.join(models, "oomsynth"), { oom: "synthesis" });
  killMarker = path.join(tempDir("xtts-kill"), "kill-once");
  model(path.join(models, "killonce"), { kill_once: killMarker });
  fs.mkdirSync(path.join(models, "incomplete"));
  voicesDir = tempDir("xtts-voices");
  fs.writeFileSync(path.join(voicesDir, "alice.wav"), clip(4, 220));
  fs.writeFileSync(path.join(voicesDir, "bob.wav"), clip(5, 330));
  fs.writeFileSync(path.join(voicesDir, "short.wav"), clip(1, 440));
  fs.mkdirSync(path.join(voicesDir, "duo"));
  fs.writeFileSync(path.join(voicesDir, "duo", "a.wav"), clip(3.5, 200));
  fs.writeFileSync(path.join(voicesDir, "duo", "b.wav"), clip(3.5, 250));

  const smi = path.join(tempDir("xtts-smi"), "nvidia-smi");
  // Two cards; the first is nearly full (another program), so the scheduler books the second.
  fs.writeFileSync(smi, "#!/bin/sh\necho '0, GPU-busy-0, Busy GPU, 8192, 7900, 292'\necho '1, GPU-standin-1, Stand-in GPU, 8192, 300, 7892'\n", {
    mode: 0o755,
  });
  events = path.join(tempDir("xtts-events"), "events.jsonl");
  gate = path.join(tempDir("xtts-gate"), "gate");
  const envsDir = tempDir("xtts-envs");
  const env = {
    CHORUS_ENGINES__DIRS: JSON.stringify([engines]),
    CHORUS_PYTHON__ENVS_DIR: envsDir,
    CHORUS_ENGINES__DEFAULT: "espeak",
    CHORUS_ENGINES__SETTINGS: JSON.stringify({
      xtts: { modelsDir: models, voicesDir, model: "base" },
      "xtts-oom": { modelsDir: models, voicesDir, model: "oomload" },
    }),
    CHORUS_SCHEDULER__DEVICES__GPUS: "auto",
    CHORUS_SCHEDULER__DEVICES__NVIDIA_SMI: smi,
    // The fake nvidia-smi's readings never change: an unload need not wait for memory to come back.
    CHORUS_SCHEDULER__RELEASE__FRACTION: "0",
    XTTS_STANDIN_LOG: events,
    XTTS_STANDIN_GATE: gate,
  };
  serverEnv = env;
  for (const id of ["xtts", "xtts-oom"]) {
    const setup = await runChorusAsync(["plugin", "setup", id], { env });
    expect(setup.status, setup.stderr + setup.stdout).toBe(0);
    const python = path.join(envsDir, id, "bin", "python");
    const site = spawnSync(python, ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], { encoding: "utf8" }).stdout.trim();
    fs.writeFileSync(path.join(site, "xtts-standin.pth"), `${STANDIN}\n`);
  }
  server = await startServer({ pluginDirs: [], env });
});
afterAll(async () => {
  await server?.stop();
});

describe("XTTS engine against the coqui-tts stand-in", () => {
  it("discovers clips, voice sets and built-in speakers, skipping a clip under 3 s with a warning", async () => {
    const res = await fetch(`${server.url}/api/voices?engine=xtts`);
    expect(res.status).toBe(200);
    const { voices } = (await res.json()) as { voices: string[] };
    expect(voices).toEqual(expect.arrayContaining(["alice.wav", "bob.wav", "voiceset:duo", "Ana Florence"]));
    expect(voices).not.toContain("short.wav");
    await waitFor(() => server.logs.some((l) => String(l.msg).includes("voice short.wav skipped: 1.0 s long")), 5000, "the warning in the log");
    expect(calls("load_checkpoint")[0]).toMatchObject({ eval: true, use_deepspeed: false });
    expect(String(calls("load_checkpoint")[0]!.checkpoint_dir)).toMatch(/base$/);
    // The GPU profile, on the device index the scheduler chose (the card with room).
    expect(calls("to").map((e) => e.device)).toEqual(["cuda:1"]);
    // Its own measurement after load (torch.cuda.memory_reserved: the stand-in model's 2300 MB) is what the scheduler books.
    await waitFor(
      () => server.logs.some((l) => l.reason === "learned_footprint" && l.engine === "xtts" && String(l.detail).includes("the engine reports 2300 MB")),
      5000,
      "the learned footprint",
    );
  });

  it("streams inference_stream's chunks in order, sentence by sentence, with AllTalk's defaults", async () => {
    const res = await xtts({ voice: "alice", text: "Hello there. How are you today?", options: { stream_chunk_size: 5 } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sample-rate")).toBe("24000");
    expect(res.headers.get("x-chorus-profile")).toBe("gpu");
    const chunks = chunksOf(res.samples);
    // "Hello there." is 12 tokens for the stand-in: 3 chunks of 5; "How are you today?" 18: 4.
    expect(chunks.map((c) => c.index)).toEqual([0, 1, 2, 0, 1, 2, 3]);
    expect(new Set(chunks.map((c) => c.level)).size).toBe(1);
    const streams = calls("inference_stream");
    expect(streams.map((e) => e.text)).toEqual(["Hello there.", "How are you today?"]);
    expect(streams[0]).toMatchObject({
      language: "en",
      device: "cuda:1",
      stream_chunk_size: 5,
      temperature: 0.75,
      repetition_penalty: 10,
      length_penalty: 1,
      top_k: 50,
      top_p: 0.85,
      speed: 1,
      enable_text_splitting: false,
    });
  });

  it("computes a voice's latents once, reuses them, and recomputes them when the clip changes", async () => {
    const forAlice = () => calls("get_conditioning_latents").filter((e) => (e.paths as string[]).some((p) => p.endsWith("alice.wav")));
    expect(forAlice()).toHaveLength(1); // from the previous test
    expect((await xtts({ voice: "alice", text: "Once more." })).status).toBe(200);
    expect(forAlice()).toHaveLength(1);
    expect(forAlice()[0]).toMatchObject({ gpt_cond_len: 30, max_ref_length: 30 }); // from the model's config.json
    fs.writeFileSync(path.join(voicesDir, "alice.wav"), clip(4, 180));
    expect((await xtts({ voice: "alice", text: "A new clip." })).status).toBe(200);
    expect(forAlice()).toHaveLength(2);
    const set = await xtts({ voice: "voiceset:duo", text: "Two clips." });
    expect(set.status).toBe(200);
    expect(calls("get_conditioning_latents").at(-1)!.paths).toHaveLength(2);
  });

  it("keeps every sentence under the language's character limit and the 400-token limit", async () => {
    const clause = "and then the quick brown fox jumped over the lazy dog once again";
    const text = `${Array.from({ length: 20 }, () => clause).join(", ")}.`; // 1,300+ characters, one sentence
    const before = calls("inference_stream").length;
    const res = await xtts({ voice: "bob", text });
    expect(res.status).toBe(200);
    const pieces = calls("inference_stream")
      .slice(before)
      .map((e) => String(e.text));
    expect(pieces.length).toBeGreaterThan(5);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(250);
    expect(pieces.join(" ").replace(/\s+/g, " ")).toBe(text);
    const ja = await xtts({ voice: "bob", text: "あ".repeat(500), options: { language: "ja" } });
    expect(ja.status).toBe(200);
    expect(
      calls("inference_stream")
        .slice(-8)
        .every((e) => String(e.text).length <= 71 && e.language === "ja"),
    ).toBe(true);
  });

  it("speaks built-in speakers without cloning, and never mixes the chunks of concurrent requests", async () => {
    const before = calls("get_conditioning_latents").length;
    const [a, b, c] = await Promise.all([
      xtts({ voice: "Ana Florence", text: "Built in speaker, speaking at length for a while." }),
      xtts({ voice: "bob", text: "Bob speaks here, also at some length for a while." }),
      xtts({ voice: "Ana Florence", text: "Again the built in speaker, speaking." }),
    ]);
    for (const r of [a, b, c]) expect(r.status).toBe(200);
    expect(calls("get_conditioning_latents").length).toBe(before);
    expect(new Set(chunksOf(a.samples).map((x) => x.level))).toEqual(new Set([300]));
    expect(new Set(chunksOf(c.samples).map((x) => x.level))).toEqual(new Set([300]));
    expect(new Set(chunksOf(b.samples).map((x) => x.level)).size).toBe(1);
    expect(chunksOf(b.samples)[0]!.level).not.toBe(300);
  });

  it("resumes a request whose engine process is killed mid-stream: the client gets every sentence, once", async () => {
    fs.writeFileSync(killMarker, "kill the stand-in once");
    const res = await xtts({ voice: "alice", text: "Hello there. How are you today?", options: { stream_chunk_size: 5, model: "killonce" } });
    expect(res.status, res.body.toString()).toBe(200);
    // The stand-in's process was SIGKILLed after its first chunk of "Hello there."
    expect(calls("killed")).toHaveLength(1);
    expect(fs.existsSync(killMarker)).toBe(false);
    // The same chunk sequence as without the kill: nothing lost, nothing repeated.
    const chunks = chunksOf(res.samples);
    expect(chunks.map((c) => c.index)).toEqual([0, 1, 2, 0, 1, 2, 3]);
    expect(new Set(chunks.map((c) => c.level)).size).toBe(1);
    const killedPid = calls("killed")[0]!.pid;
    expect(calls("inference_stream").at(-1)!.pid).not.toBe(killedPid); // spoken by the restarted process
    await waitFor(() => server.logs.some((l) => l.reason === "resumed_after_crash" && l.engine === "xtts"), 5000, "the resume decision");
  });

  it("uses a model folder that appeared while running (AllTalk's 'xtts - NAME' form too), without a restart", async () => {
    model(path.join(modelsDirOf(), "finetuned"));
    const res = await xtts({ voice: "alice", text: "A fine-tuned voice.", options: { model: "xtts - finetuned" } });
    expect(res.status, res.body.toString()).toBe(200);
    expect(String(calls("load_checkpoint").at(-1)!.checkpoint_dir)).toMatch(/finetuned$/);
    const missing = await xtts({ voice: "alice", text: "No such model.", options: { model: "incomplete" } });
    expect(missing.status).toBe(502);
    expect(missing.body.toString()).toContain("XTTS model 'incomplete' lacks config.json, model.pth, vocab.json, speakers_xtts.pth");
  });

  it("streams through AllTalk's /api/tts-generate-streaming as a WAV, in the request's language", async () => {
    const reload = await fetch(`${server.url}/api/reload?tts_method=xtts`, { method: "POST" });
    expect(reload.status).toBe(200);
    const res = await fetch(`${server.url}/api/tts-generate-streaming?text=${encodeURIComponent("Hola, ¿qué tal?")}&voice=bob.wav&language=es&output_file=x`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/wav");
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.toString("ascii", 0, 4)).toBe("RIFF");
    expect(body.readUInt32LE(24)).toBe(24000);
    expect(calls("inference_stream").at(-1)).toMatchObject({ language: "es" });
    // AllTalk's "xtts - MODEL" form picks the model for its requests.
    const model = await fetch(`${server.url}/api/reload?tts_method=${encodeURIComponent("xtts - finetuned")}`, { method: "POST" });
    expect(model.status).toBe(200);
    expect(((await (await fetch(`${server.url}/api/currentsettings`)).json()) as { current_model_loaded: string }).current_model_loaded).toBe(
      "xtts - finetuned",
    );
    const again = await fetch(`${server.url}/api/tts-generate-streaming?text=Hello&voice=bob.wav&language=en`);
    expect(again.status).toBe(200);
    await again.arrayBuffer();
    expect(String(calls("load_checkpoint").at(-1)!.checkpoint_dir)).toMatch(/finetuned$/);
    await fetch(`${server.url}/api/reload?tts_method=espeak`, { method: "POST" });
  });

  it("offers gpu-deepspeed only where DeepSpeed imports; AllTalk's /api/deepspeed switches the placement through the scheduler", async () => {
    expect((await fetch(`${server.url}/api/reload?tts_method=xtts`, { method: "POST" })).status).toBe(200);
    const settings = async () => (await (await fetch(`${server.url}/api/currentsettings`)).json()) as Record<string, unknown>;
    // Setup ran before the stand-ins (deepspeed among them) were on the environment's path: not importable then.
    expect(await settings()).toMatchObject({ deepspeed_capable: true, deepspeed_available: false, deepspeed_enabled: false });
    const listed = async () =>
      ((await (await fetch(`${server.url}/api/engines`)).json()) as { engines: { id: string; profilesNotOffered: unknown[] }[] }).engines.find(
        (e) => e.id === "xtts",
      )!;
    expect((await listed()).profilesNotOffered).toEqual([{ name: "gpu-deepspeed", requires: ["deepspeed"] }]);
    const refused = await fetch(`${server.url}/api/deepspeed?new_deepspeed_value=True`, { method: "POST" });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { field: string; message: string } }).error).toMatchObject({
      field: "new_deepspeed_value",
      message: expect.stringContaining("run chorus plugin setup xtts"),
    });
    // It imports now; a second setup (nothing to install) records that.
    const setup = await runChorusAsync(["plugin", "setup", "xtts"], { env: serverEnv });
    expect(setup.stdout).toContain("optional module deepspeed: importable (profile gpu-deepspeed offered)");
    expect(await settings()).toMatchObject({ deepspeed_available: true, deepspeed_enabled: false });
    expect((await listed()).profilesNotOffered).toEqual([]);
    expect(await (await fetch(`${server.url}/api/deepspeed?new_deepspeed_value=True`, { method: "POST" })).json()).toEqual({ status: "deepspeed-success" });
    expect(await settings()).toMatchObject({ deepspeed_enabled: true });
    const on = await xtts({ voice: "bob", text: "With DeepSpeed." });
    expect(on.status).toBe(200);
    expect(on.headers.get("x-chorus-profile")).toBe("gpu-deepspeed");
    expect(calls("load_checkpoint").at(-1)).toMatchObject({ use_deepspeed: true });
    expect(await (await fetch(`${server.url}/api/deepspeed?new_deepspeed_value=False`, { method: "POST" })).json()).toEqual({ status: "deepspeed-success" });
    const off = await xtts({ voice: "bob", text: "Without DeepSpeed." });
    expect(off.headers.get("x-chorus-profile")).toBe("gpu");
    expect(calls("load_checkpoint").at(-1)).toMatchObject({ use_deepspeed: false });
    expect(await settings()).toMatchObject({ deepspeed_enabled: false });
    await fetch(`${server.url}/api/reload?tts_method=espeak`, { method: "POST" });
  });

  it("serves an OOM while loading from further down the chain, learning that the GPU profile does not fit", async () => {
    // xtts-oom: the same engine whose default model runs out of memory on the GPU.
    const res = await xtts({ engine: "xtts-oom", voice: "alice", text: "Out of memory here." });
    expect(res.status, res.body.toString()).toBe(200);
    expect(`${res.headers.get("x-chorus-engine")}:${res.headers.get("x-chorus-profile")}`).not.toBe("xtts-oom:gpu");
    expect(calls("oom").map((e) => e.phase)).toContain("load");
    expect(calls("empty_cache").length).toBeGreaterThanOrEqual(1);
    await waitFor(
      () => server.logs.some((l) => l.reason === "oom_load" && l.engine === "xtts-oom" && String(l.detail).includes("Tried to allocate 2.00 GiB")),
      5000,
      "the oom_load decision",
    );
  });

  it("in low-VRAM mode parks the model in RAM and moves it to the GPU for each request, in order", async () => {
    const on = await fetch(`${server.url}/api/scheduler/engines/xtts/lowvram`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ enabled: true }),
    });
    expect(on.status).toBe(200);
    const mark = recorded().length;
    const res = await waitFor(
      async () => {
        const r = await xtts({ voice: "bob", text: "Low memory mode." });
        return r.headers.get("x-chorus-profile") === "lowvram" ? r : undefined;
      },
      20_000,
      "a lowvram placement",
    );
    expect(res.status).toBe(200);
    const moves = recorded()
      .slice(mark)
      .filter((e) => ["to", "inference_stream", "empty_cache", "load_checkpoint"].includes(e.call))
      .map((e) => (e.call === "to" ? `to ${String(e.device)}` : e.call));
    const from = moves.lastIndexOf("load_checkpoint");
    expect(moves.slice(from)).toEqual(["load_checkpoint", "to cpu", "to cuda:1", "inference_stream", "to cpu", "empty_cache"]);
  });

  it("keeps the model on the GPU for all the parts of a narrated request in low-VRAM mode; AllTalk's language and model reach XTTS", async () => {
    // Low-VRAM mode is on (previous test). AllTalk's narrator: narration and speech, each with its voice.
    expect((await fetch(`${server.url}/api/reload?tts_method=${encodeURIComponent("xtts - finetuned")}`, { method: "POST" })).status).toBe(200);
    expect(String(calls("load_checkpoint").at(-1)!.checkpoint_dir)).toMatch(/base$/); // the low-VRAM instance's default
    const mark = recorded().length;
    const form = new URLSearchParams({
      text_input: '*The narrator sets the scene.* "Hello there, traveller."',
      text_filtering: "standard",
      character_voice_gen: "bob.wav",
      narrator_enabled: "true",
      narrator_voice_gen: "alice.wav",
      text_not_inside: "character",
      language: "fr",
      output_file_name: "narrated",
      output_file_timestamp: "false",
    });
    const res = await fetch(`${server.url}/api/tts-generate`, { method: "POST", body: form });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "generate-success" });
    await fetch(`${server.url}/api/reload?tts_method=espeak`, { method: "POST" });
    const since = recorded().slice(mark);
    const streams = since.filter((e) => e.call === "inference_stream");
    expect(streams.map((e) => [e.text, e.language])).toEqual([
      ["The narrator sets the scene.", "fr"],
      ["Hello there, traveller.", "fr"],
    ]);
    expect(String(since.filter((e) => e.call === "load_checkpoint").at(-1)?.checkpoint_dir)).toMatch(/finetuned$/);
    const moves = since.filter((e) => e.call === "to" || e.call === "inference_stream").map((e) => (e.call === "to" ? `to ${String(e.device)}` : e.call));
    // One move to the GPU for both parts, one back after the last.
    expect(moves.slice(moves.indexOf("to cuda:1"))).toEqual(["to cuda:1", "inference_stream", "inference_stream", "to cpu"]);
  });

  it("holds one lease across a narrated request's parts in low-VRAM mode: a request queued during the first part is served after the last, one move to the GPU", async () => {
    // Low-VRAM mode is on; the AllTalk engine is XTTS with the model the low-VRAM instance holds.
    expect((await fetch(`${server.url}/api/reload?tts_method=${encodeURIComponent("xtts - finetuned")}`, { method: "POST" })).status).toBe(200);
    const mark = recorded().length;
    fs.writeFileSync(gate, ""); // the first part waits in the engine until the second request is queued
    const form = new URLSearchParams({
      text_input: '*The narrator waits.* "Then the character speaks."',
      text_filtering: "standard",
      character_voice_gen: "bob.wav",
      narrator_enabled: "true",
      narrator_voice_gen: "alice.wav",
      text_not_inside: "character",
      output_file_name: "held",
      output_file_timestamp: "false",
    });
    const narrated = fetch(`${server.url}/api/tts-generate`, { method: "POST", body: form });
    let queued: ReturnType<typeof xtts> | undefined;
    try {
      await waitFor(
        () =>
          recorded()
            .slice(mark)
            .some((e) => e.call === "gated" && e.text === "The narrator waits."),
        20_000,
        "the first part in the engine",
      );
      queued = xtts({ voice: "bob", text: "Queued behind the narrator.", options: { model: "finetuned" } });
      await waitFor(
        async () => {
          const snap = (await (await fetch(`${server.url}/api/scheduler`)).json()) as { queue: { byEngine: Record<string, number> } };
          return snap.queue.byEngine.xtts === 1;
        },
        20_000,
        "the second request queued for xtts",
      );
    } finally {
      fs.rmSync(gate, { force: true });
    }
    const [first, second] = await Promise.all([narrated, queued!]);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ status: "generate-success" });
    expect(second.status).toBe(200);
    expect(second.headers.get("x-chorus-profile")).toBe("lowvram");
    await fetch(`${server.url}/api/reload?tts_method=espeak`, { method: "POST" });
    const since = recorded().slice(mark);
    // Both parts, then the queued request: it did not slip in between the parts.
    expect(since.filter((e) => e.call === "inference_stream").map((e) => e.text)).toEqual([
      "The narrator waits.",
      "Then the character speaks.",
      "Queued behind the narrator.",
    ]);
    const moves = since.filter((e) => e.call === "to" || e.call === "inference_stream").map((e) => (e.call === "to" ? `to ${String(e.device)}` : e.call));
    // One move to the GPU for both parts of the narrated request, then one for the queued request.
    expect(moves.slice(moves.indexOf("to cuda:1"))).toEqual([
      "to cuda:1",
      "inference_stream",
      "inference_stream",
      "to cpu",
      "to cuda:1",
      "inference_stream",
      "to cpu",
    ]);
  });

  it("serves an OOM while synthesising on the GPU from the CPU profile, never from low-VRAM on the same card", async () => {
    const off = await fetch(`${server.url}/api/scheduler/engines/xtts/lowvram`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ enabled: false }),
    });
    expect(off.status).toBe(200);
    const mark = server.logs.length;
    // The resident GPU profile comes back (the idle low-VRAM instance moves up), then its synthesis runs out of memory.
    const res = await xtts({ voice: "bob", text: "Out of memory while speaking.", options: { model: "oomsynth" } });
    expect(res.status, res.body.toString()).toBe(200);
    expect(res.headers.get("x-chorus-profile")).toBe("cpu");
    expect(chunksOf(res.samples).map((c) => c.index)).toEqual([0, 1]);
    const oom = calls("oom").at(-1)!;
    expect(oom.phase).toBe("synthesis");
    const logs = server.logs.slice(mark);
    const at = logs.findIndex((l) => l.reason === "oom_synthesis" && l.engine === "xtts" && l.profile === "gpu");
    expect(at).toBeGreaterThanOrEqual(0);
    expect(String(logs[at]!.detail)).toMatch(/\d+ MB of VRAM at its peak/);
    // The chain went on past the same card's low-VRAM profile (it cannot fit what the GPU profile lacked).
    expect(
      logs
        .slice(at)
        .some(
          (l) =>
            l.action === "fallback" &&
            l.reason === "fallback" &&
            l.profile === "cpu" &&
            /xtts:lowvram needs \d+ MB on cuda:\d \(its peak/.test(String(l.detail)),
        ),
    ).toBe(true);
    expect(logs.slice(at).some((l) => l.action === "load" && l.engine === "xtts" && l.profile === "lowvram")).toBe(false);
  });
});
