/** The scheduler's policy helpers, table-style: nvidia-smi parsing, eviction choice, chains, cooldown. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildChain } from "../../core/scheduler/chain.ts";
import { Cooldowns } from "../../core/scheduler/cooldown.ts";
import { NVIDIA_SMI_ARGS, NvidiaSmiProbe, parseNvidiaSmi } from "../../core/scheduler/devices.ts";
import { chooseVictims, type EvictionCandidate } from "../../core/scheduler/eviction.ts";
import { boundLearned } from "../../core/scheduler/fit.ts";
import { manifest } from "./helpers.ts";

const recorded = (name: string) => fs.readFileSync(path.join(import.meta.dirname, "recorded", name), "utf8");

describe("nvidia-smi", () => {
  it("parses one GPU", () => {
    expect(parseNvidiaSmi(recorded("nvidia-smi-one.txt"))).toEqual({
      ok: true,
      gpus: [{ index: 0, uuid: "GPU-5c1b7e2a-1d2f-4b7e-9a51-3f0c2d9e8a11", name: "NVIDIA GeForce RTX 3060", totalMb: 12288, usedMb: 1843, freeMb: 10215 }],
    });
  });

  it("parses several GPUs", () => {
    const r = parseNvidiaSmi(recorded("nvidia-smi-two.txt"));
    expect(r.ok && r.gpus.map((g) => [g.index, g.name, g.totalMb, g.freeMb])).toEqual([
      [0, "NVIDIA GeForce RTX 4090", 24564, 22008],
      [1, "Tesla T4", 15360, 14913],
    ]);
  });

  it("MIG [N/A] fields mean no usable GPU data", () => {
    const r = parseNvidiaSmi(recorded("nvidia-smi-mig.txt"));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/no usable memory data.*MIG/);
  });

  it("keeps names with commas and rejects empty output", () => {
    const r = parseNvidiaSmi("0, GPU-x, Quadro RTX 8000, Rev. B, 49152, 100, 49052\n");
    expect(r.ok && r.gpus[0]!.name).toBe("Quadro RTX 8000, Rev. B");
    expect(parseNvidiaSmi("\n")).toEqual({ ok: false, reason: "nvidia-smi listed no GPUs" });
  });

  it("binary missing or failing: a reason, never a throw", async () => {
    const missing = new NvidiaSmiProbe("nvidia-smi", async () => {
      throw Object.assign(new Error("spawn nvidia-smi ENOENT"), { code: "ENOENT" });
    });
    expect(await missing.read()).toEqual({ ok: false, reason: "nvidia-smi not found: no NVIDIA driver, CPU only" });
    const failing = new NvidiaSmiProbe("nvidia-smi", async () => {
      throw new Error("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver");
    });
    expect(await failing.read()).toMatchObject({ ok: false, reason: expect.stringMatching(/^nvidia-smi failed: NVIDIA-SMI has failed/) });
    let args: string[] = [];
    const ok = new NvidiaSmiProbe("nvidia-smi", async (_f, a) => ((args = a), recorded("nvidia-smi-one.txt")));
    expect((await ok.read()).ok).toBe(true);
    expect(args).toEqual(NVIDIA_SMI_ARGS);
  });
});

describe("eviction choice", () => {
  const c = (id: number, gpuMb: number, loadSeconds: number, idleMin: number, stale = false): EvictionCandidate => ({
    id,
    gpuMb,
    ramMb: 0,
    loadSeconds,
    idleMs: idleMin * 60_000,
    stale,
  });
  it.each([
    ["nothing needed", [c(1, 1000, 1, 10)], { gpuMb: 0, ramMb: 0, slots: 0 }, []],
    ["one cheap engine covers it", [c(1, 3000, 10, 10), c(2, 1000, 1, 10)], { gpuMb: 800, ramMb: 0, slots: 0 }, [2]],
    ["cheap reload beats big size", [c(1, 3000, 10, 10), c(2, 1000, 1, 10), c(3, 1000, 1, 10)], { gpuMb: 1500, ramMb: 0, slots: 0 }, [2, 3]],
    ["recently used costs more", [c(1, 1000, 2, 0), c(2, 1000, 2, 30)], { gpuMb: 500, ramMb: 0, slots: 0 }, [2]],
    ["stale generations go first", [c(1, 1000, 0.5, 30), c(2, 1000, 20, 0, true)], { gpuMb: 500, ramMb: 0, slots: 0 }, [2]],
    ["a slot only: the cheapest one", [c(1, 1000, 5, 10), c(2, 0, 1, 10)], { gpuMb: 0, ramMb: 0, slots: 1 }, [2]],
    ["not enough even with all", [c(1, 1000, 1, 10)], { gpuMb: 2000, ramMb: 0, slots: 0 }, undefined],
  ])("%s", (_name, candidates, need, expected) => {
    expect(chooseVictims(candidates, need)).toEqual(expected);
  });
});

describe("fallback chain", () => {
  const x = manifest(
    "xtts",
    [
      { name: "gpu", device: "cuda", vramMb: 3000 },
      { name: "lowvram", device: "cuda", transientVramMb: 1500 },
      { name: "cpu", device: "cpu" },
    ],
    ["piper", "espeak:cpu"],
  );
  const p = manifest("piper", [
    { name: "gpu", device: "cuda", vramMb: 200 },
    { name: "cpu", device: "cpu" },
  ]);
  const e = manifest("espeak", [
    { name: "cpu", device: "cpu" },
    { name: "other", device: "cpu" },
  ]);
  const of = (id: string) => ({ xtts: x, piper: p, espeak: e })[id];
  const keys = (opts: Partial<Parameters<typeof buildChain>[2]>) =>
    buildChain("xtts", of, { fallback: true, lowVram: () => false, ...opts }).map((c) => `${c.key}${c.own ? "" : "*"}`);
  it("own profiles, then fallbacks (engine = its profiles; engine:profile = that one)", () => {
    expect(keys({})).toEqual(["xtts:gpu", "xtts:lowvram", "xtts:cpu", "piper:gpu*", "piper:cpu*", "espeak:cpu*"]);
  });
  it("fallback: false keeps to the engine's own profiles", () => {
    expect(keys({ fallback: false })).toEqual(["xtts:gpu", "xtts:lowvram", "xtts:cpu"]);
  });
  it("low-VRAM mode skips full-residency GPU profiles; avoid skips a failed one", () => {
    expect(keys({ lowVram: (id) => id === "xtts", avoid: new Set(["piper:gpu"]) })).toEqual(["xtts:lowvram", "xtts:cpu", "piper:cpu*", "espeak:cpu*"]);
  });
});

describe("cooldown and learned bounds", () => {
  it("doubles up to the limit and resets on success", () => {
    const cd = new Cooldowns(10_000, 50_000);
    expect([1, 2, 3, 4].map(() => cd.fail("a:gpu", 0, "x"))).toEqual([10_000, 20_000, 40_000, 50_000]);
    expect(cd.remaining("a:gpu", 45_000)).toBe(5_000);
    cd.clear("a:gpu");
    expect(cd.fail("a:gpu", 0, "x")).toBe(10_000);
  });
  it.each([
    [1000, 1200, 1200],
    [1000, 100, 500],
    [1000, 9000, 4000],
    [0, 300, 300],
  ])("declared %i, measured %i -> %i", (d, m, out) => {
    expect(boundLearned(d, m)).toBe(out);
  });
});
