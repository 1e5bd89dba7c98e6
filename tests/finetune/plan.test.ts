/**
 * `chorus finetune plan` / `estimate` end to end (the CLI as users run it) and the HTTP API, on
 * a small dataset of eSpeak NG clips; the planner's search on its own.
 */
import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.ts";
import { createHost, type Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { plan } from "../../core/finetune/plan.ts";
import { cardByName, resolveGpu } from "../../core/finetune/gpu.ts";
import { parseNvidiaSmi } from "../../core/scheduler/devices.ts";
import { probeFile } from "../../core/finetune/runner/probes.ts";
import { probesRoot } from "../../core/finetune/runner/environment.ts";
import { xttsV2 } from "../../core/finetune/models/xtts-v2.ts";
import { tempDir } from "../helpers/temp.ts";
import { runChorusAsync } from "../helpers/process.ts";
import { Speaker, concat, sentence, silence, writeCoqui, writeWav, type Row } from "./helpers.ts";

let root: string;
let dataset: string;

beforeAll(async () => {
  const speaker = new Speaker();
  root = tempDir("ft-plan");
  dataset = path.join(root, "voice");
  const rows: Row[] = [];
  for (let i = 0; i < 6; i++) {
    // the last clip holds three sentences (about 11 s), the longest the trainer sees
    const n = i === 5 ? 3 : 2;
    const parts: Int16Array[] = [];
    for (let k = 0; k < n; k++) parts.push(await speaker.say(sentence(i * 7 + k)), silence(0.2, speaker.sampleRate));
    writeWav(path.join(dataset, `wavs/p${i}.wav`), speaker.sampleRate, concat(parts));
    rows.push({ file: `wavs/p${i}.wav`, text: Array.from({ length: n }, (_, k) => sentence(i * 7 + k)).join(" ") });
  }
  writeCoqui(dataset, rows.slice(1), rows.slice(0, 1));
  await speaker.close();
}, 120_000);

async function planJson(args: string[]) {
  const r = await runChorusAsync(["finetune", "plan", "--dataset", dataset, "--json", ...args], { env: { CHORUS_LOG__LEVEL: "silent" } });
  expect(r.stderr).toBe("");
  return { status: r.status, plan: JSON.parse(r.stdout) };
}

describe("chorus finetune plan --json", () => {
  it("answers for 8, 12, 16 and 24 GB cards with 0.5-1 GB held by others", async () => {
    const results: Record<number, Awaited<ReturnType<typeof planJson>>["plan"]> = {};
    for (const [gb, used] of [
      [8, 512],
      [12, 1024],
      [16, 768],
      [24, 1024],
    ] as const) {
      const { status, plan: p } = await planJson(["--gpu-total-mb", String(gb * 1024), "--gpu-used-mb", String(used), "--os", "linux"]);
      for (const key of [
        "fits",
        "batchSize",
        "gradAccumSteps",
        "effectiveBatch",
        "precision",
        "maxClipSeconds",
        "maxTextTokens",
        "learningRate",
        "optimizer",
        "budgetMb",
        "clipsDropped",
        "minutesTrained",
        "warnings",
        "trainerConfig",
      ])
        expect(p, key).toHaveProperty(key);
      for (const key of ["allocatedMb", "deviceMb", "terms"]) expect(p.predicted).toHaveProperty(key);
      expect(Object.values(p.predicted.terms).reduce((a: number, b) => a + (b as number), 0)).toBeCloseTo(p.predicted.deviceMb, 0);
      expect(status).toBe(p.fits ? 0 : 1);
      if (p.fits) expect(p.predicted.deviceMb).toBeLessThanOrEqual(gb * 1024 - used);
      expect(p.trainerConfig.TrainerArgs.grad_accum_steps).toBe(p.gradAccumSteps);
      expect(p.trainerConfig.GPTTrainerConfig.batch_size).toBe(p.batchSize);
      results[gb] = p;
    }
    expect(results[8].fits).toBe(false);
    expect(results[8].warnings.join(" ")).toMatch(/full fp32 fine-tuning does not fit/);
    expect(results[8].alternatives.join(" ")).toMatch(/a card with at least \d+ MB free/);
    expect(results[8].alternatives.join(" ")).toMatch(/zero-shot cloning/);
    for (const gb of [12, 16, 24]) expect(results[gb].fits, `${gb} GB`).toBe(true);
    expect(results[24].batchSize).toBeGreaterThan(results[12].batchSize);
    expect(results[24].precision).toBe("fp32");
    // the longest clip the trainer sees sets the cap, not the 11.6 s default
    expect(results[24].maxClipSeconds).toBeLessThan(11.7);
    expect(results[24].clipsDropped).toBe(0);
  }, 120_000);

  it("card names map to their memory; estimate --json returns predicted of the same shape", async () => {
    const { plan: p } = await planJson(["--gpu", "RTX 3060", "--gpu-used-mb", "600"]);
    expect(p.gpu).toMatchObject({ name: "RTX 3060", totalMb: 12288, othersMb: 600, source: "flags" });
    expect(cardByName("GTX 1650")?.totalMb).toBe(4096);
    expect(cardByName("RTX 4090")?.totalMb).toBe(24564);
    expect(cardByName("T4")?.totalMb).toBe(15360);
    const r = await runChorusAsync(["finetune", "estimate", "--batch", "4", "--accum", "1", "--max-clip-seconds", "11", "--json"]);
    expect(r.status).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(Object.keys(e.predicted.terms)).toEqual(Object.keys(p.predicted.terms));
    const bad = await runChorusAsync(["finetune", "estimate", "--batch", "4", "--precision", "fp8", "--max-clip-seconds", "11"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--precision must be one of fp32, fp16, bf16/);
  }, 60_000);
});

describe("chorus finetune check", () => {
  it("prints findings, a clip-length histogram and the summary; writes the plot; --json is the whole report", async () => {
    const svg = path.join(root, "lengths.svg");
    const png = path.join(root, "lengths.png");
    const r = await runChorusAsync(["finetune", "check", dataset, "--plot", svg], { env: { CHORUS_LOG__LEVEL: "silent" } });
    expect(r.status).toBe(1); // under 2 minutes: an error
    expect(r.stdout).toMatch(/ERROR +total-too-short/);
    expect(r.stdout).toMatch(/Clip lengths:\n/);
    expect(r.stdout).toMatch(/\| 1\n/);
    expect(r.stdout).toMatch(/minutes will be trained on \(5 of 5 training clips kept; 1 eval clips\)/);
    expect(fs.readFileSync(svg, "utf8")).toMatch(/^<svg [^>]*>.*<rect /s);
    const j = await runChorusAsync(["finetune", "check", dataset, "--json", "--plot", png], { env: { CHORUS_LOG__LEVEL: "silent" } });
    const report = JSON.parse(j.stdout);
    expect(report.clips).toHaveLength(6);
    expect(report.findings.map((f: { code: string }) => f.code)).toContain("total-too-short");
    expect(fs.readFileSync(png).subarray(1, 4).toString("ascii")).toBe("PNG");
  }, 60_000);
});

describe("planner search", () => {
  const clips = Array.from({ length: 40 }, (_, i) => ({
    seconds: 3 + (i % 8),
    tokens: 30 + (i % 8) * 9,
    split: (i % 8 === 0 ? "eval" : "train") as "train" | "eval",
  }));
  const card = (totalMb: number, othersMb = 0) => ({ name: "test", totalMb, othersMb, chorusMb: 0, source: "flags" as const });

  it("departs from AllTalk only when it must, and flags each departure", () => {
    const p = plan({ model: xttsV2, clips, gpu: card(10000), os: "linux", attention: "eager", effectiveBatch: 4 });
    expect(p.fits).toBe(true);
    expect(p.fused).toBe(true);
    expect(p.trainerConfig.GPTTrainerConfig!.optimizer_params).toMatchObject({ fused: true });
    expect(p.warnings.join(" ")).toMatch(/fused = true/);
    expect(p.predicted.deviceMb).toBeLessThanOrEqual(10000);
    const big = plan({ model: xttsV2, clips, gpu: card(24564, 1024), os: "linux", attention: "eager", effectiveBatch: 4 });
    expect([big.fused, big.precision, big.warnings.filter((w) => /fused|mixed precision|lowered/.test(w))]).toEqual([false, "fp32", []]);
    expect(big.learningRate).toBe(5e-6);
  });

  it("drops clips over the cap and says so; a raised cap keeps them, flagged", () => {
    const withLong = [...clips, { seconds: 15, tokens: 130, split: "train" as const }];
    const p = plan({ model: xttsV2, clips: withLong, gpu: card(24564, 1024), os: "linux", attention: "eager", effectiveBatch: 4 });
    expect([p.clipsDropped, p.maxClipSeconds]).toEqual([1, 10]);
    expect(p.warnings.join(" ")).toMatch(/1 training clip\(s\) \(0\.3 min\) are longer than 10 s/);
    const raised = plan({ model: xttsV2, clips: withLong, gpu: card(24564, 1024), os: "linux", attention: "eager", effectiveBatch: 4, maxClipSeconds: 20 });
    expect([raised.clipsDropped, raised.maxClipSeconds, raised.maxTextTokens]).toEqual([0, 15, 130]);
    expect(raised.warnings.join(" ")).toMatch(/over coqui's default/);
    expect(raised.trainerConfig.GPTArgs!.max_wav_length).toBe(15 * 22050);
    expect(raised.predicted.deviceMb).toBeLessThanOrEqual(raised.budgetMb);
  });

  it("on Windows an unfit card is told about the system-memory fallback; Chorus's own engines are named", () => {
    const p = plan({ model: xttsV2, clips, gpu: { ...card(8192, 600), chorusMb: 900 }, os: "windows", attention: "auto", effectiveBatch: 4 });
    expect(p.fits).toBe(false);
    expect(p.alternatives.join(" ")).toMatch(/system-memory fallback.*slowly/);
    expect(p.warnings.join(" ")).toMatch(/Chorus's own engines hold 900 MB/);
  });

  it("reads the card from the scheduler's simulated devices", async () => {
    const config = loadConfig({ env: {}, overrides: { scheduler: { devices: { simulated: [{ name: "Sim 12", totalMb: 12288, heldByOthersMb: 700 }] } } } });
    const gpu = await resolveGpu({}, config, { snapshot: async () => undefined });
    expect(gpu).toMatchObject({ totalMb: 12288, othersMb: 700, source: "simulated" });
    // nvidia-smi through the scheduler's device layer (a recorded answer of the real query)
    const smi = await resolveGpu({ gpu: "1" }, loadConfig({ env: {} }), {
      snapshot: async () => undefined,
      probe: {
        read: async () => parseNvidiaSmi("0, GPU-aaa, NVIDIA GeForce GTX 1650, 4096, 300, 3796\n1, GPU-bbb, NVIDIA GeForce RTX 3060, 12288, 900, 11388\n"),
      },
    });
    expect(smi).toMatchObject({ name: "NVIDIA GeForce RTX 3060", totalMb: 12288, othersMb: 900, source: "nvidia-smi" });
    const off = loadConfig({ env: {}, overrides: { scheduler: { devices: { gpus: "off" } } } });
    await expect(resolveGpu({}, off, { snapshot: async () => undefined })).rejects.toThrow(/--gpu-total-mb/);
  });
});

describe("POST /api/finetune/check and /plan", () => {
  let host: Host;
  let app: FastifyInstance;
  beforeAll(async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        log: { level: "silent" },
        dataDir: path.join(root, "var"),
        finetune: { datasetDirs: [root] },
        scheduler: { devices: { simulated: [{ name: "Sim card", totalMb: 16384, heldByOthersMb: 800 }] } },
      },
    });
    host = createHost(config, { log: pino({ level: "silent" }) });
    app = await buildApp(host);
  });
  afterAll(async () => {
    await app.close();
    await host.close();
  });

  it("checks and plans a dataset inside the configured folders", async () => {
    const check = await app.inject({ method: "POST", url: "/api/finetune/check", payload: { dataset: "voice" } });
    expect(check.statusCode).toBe(200);
    expect(check.json().clips).toHaveLength(6);
    const res = await app.inject({ method: "POST", url: "/api/finetune/plan", payload: { dataset: dataset } });
    expect(res.statusCode).toBe(200);
    const p = res.json();
    expect(p.gpu).toMatchObject({ totalMb: 16384, othersMb: 800, source: "chorus" });
    expect(p.fits).toBe(true);
    expect(p.predicted.deviceMb).toBeLessThanOrEqual(16384 - 800);
  }, 60_000);

  it("plans for the server's own system when the request names none (as the CLI and the run do)", async () => {
    // Linux first: the check finds ffmpeg (for this platform) once, before the platform is faked.
    const linux = (await app.inject({ method: "POST", url: "/api/finetune/plan", payload: { dataset, os: "linux" } })).json();
    expect(linux.warnings.join("\n")).not.toContain("Windows:");
    const platform = Object.getOwnPropertyDescriptor(process, "platform")!;
    Object.defineProperty(process, "platform", { ...platform, value: "win32" });
    try {
      const res = (await app.inject({ method: "POST", url: "/api/finetune/plan", payload: { dataset } })).json();
      expect(res.warnings, JSON.stringify(res)).toBeDefined();
      expect(res.warnings.join("\n")).toContain("Windows:");
    } finally {
      Object.defineProperty(process, "platform", platform);
    }
  }, 60_000);

  it("scales the plan by a probe filed for the card and model, as the CLI does", async () => {
    const before = (await app.inject({ method: "POST", url: "/api/finetune/plan", payload: { dataset } })).json();
    const file = probeFile(probesRoot(host.config), before.gpu.name, "xtts-v2");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const record = {
      card: before.gpu.name,
      model: "xtts-v2",
      predictedMb: 10512, // 10000 MB without the CUDA context: 12000 measured is 1.2 x
      peakAllocatedMb: 11000,
      peakReservedMb: 12000,
      ratio: 1.2,
      job: "ft-x",
      at: "2026-12-01T00:00:00Z",
    };
    fs.writeFileSync(file, JSON.stringify({ ...record, settings: { batchSize: 4, gradAccumSteps: 1, maxClipSeconds: 11, learningRate: 5e-6 } }));
    try {
      const after = (await app.inject({ method: "POST", url: "/api/finetune/plan", payload: { dataset } })).json();
      expect(after.warnings.join("\n")).toContain("predictions scaled by 1.2 from a probe on this card");
      // scaled, so a smaller plan (or the same one, predicted 1.2 x higher)
      if (after.batchSize === before.batchSize && after.gradAccumSteps === before.gradAccumSteps)
        expect(after.predicted.deviceMb).toBeCloseTo((before.predicted.deviceMb - 512) * 1.2 + 512, 0);
      else expect(after.batchSize).toBeLessThan(before.batchSize);
    } finally {
      fs.rmSync(file);
    }
  }, 60_000);

  it("reads nothing outside them", async () => {
    const outside = tempDir("ft-outside");
    writeWav(path.join(outside, "secret.wav"), 22050, silence(1, 22050));
    const sneaky = path.join(root, "sneaky");
    fs.mkdirSync(sneaky);
    writeCoqui(sneaky, [{ file: path.relative(sneaky, path.join(outside, "secret.wav")), text: "Not yours." }], []);
    fs.symlinkSync(outside, path.join(root, "link"));
    const r1 = await app.inject({ method: "POST", url: "/api/finetune/check", payload: { dataset: outside } });
    expect([r1.statusCode, r1.json().error.code, r1.json().error.field]).toEqual([403, "CHORUS_ERR_DATASET_FORBIDDEN", "dataset"]);
    const r2 = await app.inject({ method: "POST", url: "/api/finetune/check", payload: { dataset: "link" } });
    expect(r2.json().error.code).toBe("CHORUS_ERR_DATASET_FORBIDDEN");
    const r3 = await app.inject({ method: "POST", url: "/api/finetune/check", payload: { dataset: "../" } });
    expect(r3.json().error.code).toBe("CHORUS_ERR_DATASET_FORBIDDEN");
    const r4 = await app.inject({ method: "POST", url: "/api/finetune/check", payload: { dataset: "nope" } });
    expect([r4.statusCode, r4.json().error.code]).toEqual([404, "CHORUS_ERR_DATASET_NOT_FOUND"]);
    const r5 = await app.inject({ method: "POST", url: "/api/finetune/check", payload: { dataset: "sneaky" } });
    expect(r5.statusCode).toBe(200);
    expect(r5.json().findings.find((f: { code: string }) => f.code === "outside-dataset-dirs")).toBeTruthy();
    expect(r5.json().clips[0].seconds).toBeUndefined();
    // a clip path outside that does not exist reads as "outside" too: no existence oracle
    writeCoqui(sneaky, [{ file: "../../../no/such/file.wav", text: "Probe." }], []);
    const r7 = await app.inject({ method: "POST", url: "/api/finetune/check", payload: { dataset: "sneaky" } });
    expect(r7.json().findings.map((f: { code: string }) => f.code)).toContain("outside-dataset-dirs");
    expect(r7.json().findings.map((f: { code: string }) => f.code)).not.toContain("missing-file");
    // a metadata file that is a symlink to a file outside is not read
    const linked = path.join(root, "linked-meta");
    fs.mkdirSync(linked);
    fs.writeFileSync(path.join(outside, "secret.csv"), "audio_file|text|speaker_name\nx.wav|secret text|me\n");
    fs.symlinkSync(path.join(outside, "secret.csv"), path.join(linked, "metadata_train.csv"));
    const r8 = await app.inject({ method: "POST", url: "/api/finetune/check", payload: { dataset: "linked-meta" } });
    expect([r8.statusCode, r8.json().error.code]).toEqual([403, "CHORUS_ERR_DATASET_FORBIDDEN"]);
    expect(r8.body).not.toContain("secret text");
    const r6 = await app.inject({ method: "POST", url: "/api/finetune/plan", payload: { dataset: "voice", effectiveBatch: 0 } });
    expect([r6.statusCode, r6.json().error.field]).toEqual([400, "effectiveBatch"]);
  });
});
