/**
 * `npm run bench -- finetune`: the planner's activation term against what autograd really saves.
 * Creates a venv under var/bench/finetune-venv with torch and transformers from the machine's
 * package index (skipped, with the reason, where that fails), builds an XTTS-v2-shaped GPT with
 * random weights (finetune_replica.py) and counts the bytes saved per sample at three sequence
 * lengths (eager attention, fp32, as AllTalk trains); target: within 5 % of the planner. On a
 * CUDA machine it also runs two real AdamW steps and compares torch.cuda.max_memory_allocated()
 * with the planner's allocated peak (less the frozen DVAE/HiFi-GAN, which the replica lacks).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CHORUS_ROOT } from "../../core/config/load.ts";
import { xttsV2 } from "../../core/finetune/models/xtts-v2.ts";
import { MB, activationBytes, estimate } from "../../core/finetune/vram.ts";
import { TOKENS_PER_SECOND } from "../../core/cli/finetune.ts";

const VENV = path.join(CHORUS_ROOT, "var", "bench", "finetune-venv");
const SCRIPT = fileURLToPath(new URL("./finetune_replica.py", import.meta.url));
const bin = (name: string) => path.join(VENV, process.platform === "win32" ? "Scripts" : "bin", name);

function run(file: string, args: string[], log?: string, timeoutMs = 30 * 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    const sink = log ? fs.createWriteStream(log, { flags: "a" }) : undefined;
    child.stdout.on("data", (d) => ((stdout += d), sink?.write(d)));
    child.stderr.on("data", (d) => ((stderr = (stderr + d).slice(-20000)), sink?.write(d)));
    child.on("error", (err) => resolve({ code: -1, stdout, stderr: err.message }));
    child.on("close", (code) => (sink?.end(), resolve({ code, stdout, stderr })));
  });
}

/** A Python with torch and transformers, or the reason there is none. */
async function python(): Promise<{ ok: true; python: string } | { ok: false; reason: string }> {
  if (fs.existsSync(bin("python"))) {
    const probe = await run(bin("python"), ["-c", "import torch, transformers"]);
    if (probe.code === 0) return { ok: true, python: bin("python") };
  }
  const base = process.platform === "win32" ? "python" : "python3";
  fs.mkdirSync(path.dirname(VENV), { recursive: true });
  const log = path.join(path.dirname(VENV), "finetune-venv-install.log");
  console.log(`finetune bench: creating ${VENV} (torch, transformers; log in ${log})...`);
  const venv = await run(base, ["-m", "venv", VENV], log);
  if (venv.code !== 0) return { ok: false, reason: `${base} -m venv failed: ${venv.stderr.trim().split("\n").pop()}` };
  const pip = await run(bin("python"), ["-m", "pip", "install", "--disable-pip-version-check", "--retries", "1", "torch", "transformers"], log);
  if (pip.code !== 0)
    return { ok: false, reason: `pip install torch transformers failed (no torch on this machine's package index?): ${pip.stderr.trim().split("\n").pop()}` };
  return { ok: true, python: bin("python") };
}

export async function benchFinetune(): Promise<void> {
  const py = await python();
  if (!py.ok) {
    console.log(`finetune bench skipped: ${py.reason}`);
    return;
  }
  const seconds = [4, 8, 11.6];
  const cases = seconds.map((s) => ({ clip_seconds: s, text_tokens: Math.ceil(TOKENS_PER_SECOND * s), attention: "eager" }));
  const cudaCases = [{ clip_seconds: 11, text_tokens: Math.ceil(TOKENS_PER_SECOND * 11), attention: "eager", batch: 2 }];
  console.log(`finetune bench: XTTS-v2-shaped GPT, random weights, ${cases.length} sequence lengths (takes a few minutes on a CPU)...`);
  const r = await run(py.python, [SCRIPT, JSON.stringify({ cases, cuda_cases: cudaCases, batch: 1 })]);
  if (r.code !== 0) throw new Error(`finetune_replica.py failed (${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
    torch: string;
    params: number;
    results: { clip_seconds: number; text_tokens: number; attention: "eager" | "sdpa"; saved_bytes_per_sample: number }[];
    cuda_results?: { clip_seconds: number; text_tokens: number; attention: "eager" | "sdpa"; batch: number; max_memory_allocated: number }[];
  };
  console.log(`torch ${out.torch}; replica parameters ${out.params.toLocaleString("en")} (planner ${xttsV2.trainableParams.toLocaleString("en")})`);
  console.log("clip s | text tok | L   | measured MB | planner MB | ratio  | within 5 %");
  let miss = false;
  for (const c of out.results) {
    const seg = xttsV2.segments(c.clip_seconds, c.text_tokens);
    const planned = activationBytes(xttsV2, seg, "fp32", c.attention).total;
    const ratio = c.saved_bytes_per_sample / planned;
    const ok = Math.abs(ratio - 1) <= 0.05;
    miss ||= !ok;
    console.log(
      `${String(c.clip_seconds).padEnd(6)} | ${String(c.text_tokens).padEnd(8)} | ${String(seg.all).padEnd(3)} | ${(c.saved_bytes_per_sample / MB).toFixed(1).padStart(11)} | ${(planned / MB).toFixed(1).padStart(10)} | ${ratio.toFixed(4)} | ${ok ? "yes" : "NO"}`,
    );
  }
  for (const c of out.cuda_results ?? []) {
    const p = estimate(xttsV2, {
      batchSize: c.batch,
      gradAccumSteps: 1,
      maxClipSeconds: c.clip_seconds,
      maxTextTokens: c.text_tokens,
      precision: "fp32",
      attention: c.attention,
      optimizer: "adamw",
      fused: false,
    });
    const planned = p.allocatedMb - p.terms.frozenModules!;
    console.log(
      `CUDA, 2 AdamW steps, batch ${c.batch}, ${c.clip_seconds} s: max_memory_allocated ${(c.max_memory_allocated / MB).toFixed(0)} MB, planner ${planned.toFixed(0)} MB (allocated less frozen modules), ratio ${(c.max_memory_allocated / MB / planned).toFixed(3)}`,
    );
  }
  if (!out.cuda_results) console.log("no CUDA device: the max_memory_allocated check was not run");
  if (miss) process.exitCode = 1;
}
