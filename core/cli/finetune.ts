/**
 * `chorus finetune check | prepare | estimate | plan` (docs/finetune.md). Exit codes: 0 ok,
 * 1 failure (check: the dataset has errors; plan: nothing fits), 2 bad usage.
 */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { checkDataset } from "../finetune/check.ts";
import { trainableModel } from "../finetune/models/index.ts";
import { OPTIMIZERS, type Attention, type OptimizerName, type Precision, type TrainableModel } from "../finetune/model.ts";
import { estimate } from "../finetune/vram.ts";
import { hostOs, planFromReport, trainerMemoryFraction } from "../finetune/plan.ts";
import { resolveGpu } from "../finetune/gpu.ts";
import { checkText, histogram, histogramSvg, planText, predictionText } from "../finetune/report.ts";
import { histogramPng } from "../finetune/png.ts";
import { prepareDataset } from "../finetune/prepare.ts";
import { FasterWhisperTranscriber } from "../finetune/transcriber.ts";
import { ExistingPython } from "../finetune/python.ts";
import { ManagedPython } from "../python/index.ts";
import { probesRoot } from "../finetune/runner/environment.ts";
import { loadProbe } from "../finetune/runner/probes.ts";
import { RunUsageError, runCommand, setupCommand } from "./finetune-run.ts";
import { FINETUNE_USAGE } from "./finetune-usage.ts";
import { wantsHelp } from "./usage.ts";

class FinetuneUsageError extends Error {}

/** Tokens per second of speech when no text length is given: ~15 characters/s x ~0.6 tokens/character. */
export const TOKENS_PER_SECOND = 9.05;

const COMMON = {
  json: { type: "boolean" },
  model: { type: "string" },
  "model-dir": { type: "string" },
  language: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function num(name: string, raw: string | undefined, { min = -Infinity, integer = false } = {}): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n)))
    throw new FinetuneUsageError(`--${name} must be ${integer ? "an integer" : "a number"} >= ${min}, got '${raw}'`);
  return n;
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback;
  if (!allowed.includes(raw as T)) throw new FinetuneUsageError(`--${name} must be one of ${allowed.join(", ")}, got '${raw}'`);
  return raw as T;
}

function write(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

const progress = (json: boolean) => (done: number, total: number) => {
  if (!json && process.stderr.isTTY) process.stderr.write(`\rreading clips ${done}/${total}${done === total ? "\n" : ""}`);
};

async function check(args: string[], config: Config): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...COMMON, plot: { type: "string" }, "max-clip-seconds": { type: "string" } },
  });
  if (positionals.length !== 1) throw new FinetuneUsageError("finetune check takes one dataset folder: chorus finetune check DIR");
  const model = trainableModel(values.model);
  const report = await checkDataset(positionals[0]!, {
    model,
    language: values.language,
    modelDir: values["model-dir"],
    maxClipSeconds: num("max-clip-seconds", values["max-clip-seconds"], { min: 0.5 }),
    onProgress: progress(!!values.json),
  });
  if (values.plot) fs.writeFileSync(values.plot, /\.png$/i.test(values.plot) ? histogramPng(histogram(report), report.maxClipSeconds) : histogramSvg(report));
  write(!!values.json, report, checkText(report) + (values.plot ? `\nhistogram written to ${values.plot}` : ""));
  void config;
  return report.totals.errors ? 1 : 0;
}

function estimateInput(values: Record<string, string | boolean | undefined>, model: TrainableModel) {
  const str = (k: string) => values[k] as string | undefined;
  const batchSize = num("batch", str("batch"), { min: 1, integer: true });
  const maxClipSeconds = num("max-clip-seconds", str("max-clip-seconds"), { min: 0.5 });
  if (batchSize === undefined || maxClipSeconds === undefined)
    throw new FinetuneUsageError("finetune estimate needs --batch B and --max-clip-seconds S (and --accum A, default 1)");
  if (maxClipSeconds > model.limits.hardMaxClipSeconds)
    throw new FinetuneUsageError(`--max-clip-seconds ${maxClipSeconds} is over the model's position table (${model.limits.hardMaxClipSeconds.toFixed(1)} s)`);
  return {
    batchSize,
    gradAccumSteps: num("accum", str("accum"), { min: 1, integer: true }) ?? 1,
    maxClipSeconds,
    maxTextTokens:
      num("max-text-tokens", str("max-text-tokens"), { min: 1, integer: true }) ??
      Math.min(model.limits.maxTextTokens, Math.ceil(TOKENS_PER_SECOND * maxClipSeconds)),
    precision: oneOf<Precision>("precision", str("precision"), ["fp32", "fp16", "bf16"], "fp32"),
    attention: oneOf<Attention>("attention", str("attention"), ["eager", "sdpa"], "eager"),
    optimizer: oneOf<OptimizerName>("optimizer", str("optimizer"), Object.keys(OPTIMIZERS) as OptimizerName[], "adamw"),
    fused: !!values.fused,
  };
}

async function estimateCommand(args: string[]): Promise<number> {
  const options = {
    ...COMMON,
    batch: { type: "string" },
    accum: { type: "string" },
    "max-clip-seconds": { type: "string" },
    "max-text-tokens": { type: "string" },
    precision: { type: "string" },
    attention: { type: "string" },
    optimizer: { type: "string" },
    fused: { type: "boolean" },
  } as const;
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true });
  if (positionals.length) throw new FinetuneUsageError(`finetune estimate takes no positional arguments (got '${positionals.join(" ")}')`);
  const model = trainableModel(values.model);
  const input = estimateInput(values, model);
  const predicted = estimate(model, input);
  const settings = `batch ${input.batchSize} x accumulation ${input.gradAccumSteps}, clips up to ${input.maxClipSeconds} s, text up to ${input.maxTextTokens} tokens, ${input.precision}, ${input.attention} attention, ${input.optimizer}${input.fused ? " fused" : ""}`;
  write(!!values.json, { model: model.id, settings: input, predicted }, `${model.name}: ${settings}\n${predictionText(predicted)}`);
  return 0;
}

async function planCommand(args: string[], config: Config): Promise<number> {
  const options = {
    ...COMMON,
    dataset: { type: "string" },
    "max-clip-seconds": { type: "string" },
    gpu: { type: "string" },
    "gpu-total-mb": { type: "string" },
    "gpu-used-mb": { type: "string" },
    os: { type: "string" },
    attention: { type: "string" },
    "effective-batch": { type: "string" },
  } as const;
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true });
  const dataset = values.dataset ?? positionals[0];
  if (!dataset) throw new FinetuneUsageError("finetune plan needs --dataset DIR");
  const model = trainableModel(values.model);
  const gpu = await resolveGpu(
    { gpu: values.gpu, totalMb: num("gpu-total-mb", values["gpu-total-mb"], { min: 1 }), usedMb: num("gpu-used-mb", values["gpu-used-mb"], { min: 0 }) },
    config,
  );
  const maxClipSeconds = num("max-clip-seconds", values["max-clip-seconds"], { min: 1 });
  if (maxClipSeconds !== undefined && maxClipSeconds > model.limits.hardMaxClipSeconds)
    throw new FinetuneUsageError(`--max-clip-seconds ${maxClipSeconds} is over the model's position table (${model.limits.hardMaxClipSeconds.toFixed(1)} s)`);
  const report = await checkDataset(dataset, {
    model,
    language: values.language,
    modelDir: values["model-dir"],
    maxClipSeconds,
    onProgress: progress(!!values.json),
  });
  const os = oneOf("os", values.os, ["linux", "windows"], hostOs());
  const result = planFromReport(report, model, {
    gpu,
    os,
    memoryFraction: trainerMemoryFraction(config.finetune.runner.memoryFraction, os),
    attention: oneOf("attention", values.attention, ["auto", "eager", "sdpa"], "auto"),
    effectiveBatch: num("effective-batch", values["effective-batch"], { min: 1, integer: true }) ?? 4,
    probe: loadProbe(probesRoot(config), gpu.name, model.id),
  });
  write(!!values.json, result, `${planText(result)}\n\nDataset: ${report.summary}`);
  return result.fits ? 0 : 1;
}

async function prepare(args: string[], config: Config): Promise<number> {
  const options = {
    ...COMMON,
    out: { type: "string", short: "o" },
    speaker: { type: "string" },
    "eval-percent": { type: "string" },
    "min-seconds": { type: "string" },
    "max-seconds": { type: "string" },
    "whisper-model": { type: "string" },
    python: { type: "string" },
  } as const;
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true });
  if (!positionals.length || !values.out) throw new FinetuneUsageError("finetune prepare needs audio files (or folders) and --out DIR");
  const model = trainableModel(values.model);
  // A named interpreter is used as it is; otherwise Chorus manages the transcriber's environment.
  const named = values.python ?? config.finetune.python;
  const python = named ? new ExistingPython(named) : new ManagedPython(config);
  const transcriber = new FasterWhisperTranscriber(python, values["whisper-model"] ?? config.finetune.whisperModel);
  const result = await prepareDataset(positionals, {
    model,
    transcriber,
    out: values.out,
    language: values.language,
    speaker: values.speaker,
    evalPercent: num("eval-percent", values["eval-percent"], { min: 0 }),
    minSeconds: num("min-seconds", values["min-seconds"], { min: 0.5 }),
    maxSeconds: num("max-seconds", values["max-seconds"], { min: 1 }),
    onProgress: values.json ? undefined : (m) => process.stderr.write(`${m}\n`),
  });
  const lines = [
    `wrote ${result.clips.length} clips to ${result.out} (${result.clips.filter((c) => c.split === "eval").length} eval)`,
    ...result.skipped.map((s) => `  left out ${s.source} ${s.start.toFixed(1)}-${s.end.toFixed(1)} s "${s.text.slice(0, 60)}": ${s.reason}`),
    "",
    checkText(result.report),
  ];
  write(!!values.json, result, lines.join("\n"));
  return result.report.totals.errors ? 1 : 0;
}

/** The usage lines of one subcommand (`finetune plan` and the lines that continue it), or undefined for no such subcommand. */
export function subUsage(sub: string): string | undefined {
  const lines: string[] = [];
  let inside = false;
  for (const line of FINETUNE_USAGE.split("\n")) {
    if (/^ {2}finetune /.test(line)) inside = line.startsWith(`  finetune ${sub} `);
    if (inside) lines.push(line);
  }
  return lines.length ? lines.join("\n") : undefined;
}

export async function finetuneCommand(args: string[], configFile?: string): Promise<number> {
  const [sub, ...rest] = args;
  const name = `chorus finetune${sub ? ` ${sub}` : ""}`;
  try {
    if (!sub || sub === "help" || sub === "--help" || sub === "-h") {
      (sub ? process.stdout : process.stderr).write(`Usage:\n${FINETUNE_USAGE}\n`);
      return sub ? 0 : 2;
    }
    const usage = subUsage(sub);
    if (usage && wantsHelp(rest)) {
      process.stdout.write(`Usage:\n${usage}\n`);
      return 0;
    }
    const config = loadConfig({ file: configFile, overrides: process.env.CHORUS_LOG__LEVEL ? {} : { log: { level: "warn" } } });
    switch (sub) {
      case "check":
        return await check(rest, config);
      case "prepare":
        return await prepare(rest, config);
      case "estimate":
        return await estimateCommand(rest);
      case "plan":
        return await planCommand(rest, config);
      case "run":
        return await runCommand("train", rest, config);
      case "probe":
        return await runCommand("probe", rest, config);
      case "setup":
        return await setupCommand(rest, config);
      default:
        throw new FinetuneUsageError(`unknown finetune command '${sub}'`);
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    if (err instanceof FinetuneUsageError || err instanceof RunUsageError || e.code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${name}: ${e.message}\n\nUsage:\n${(sub && subUsage(sub)) || FINETUNE_USAGE}\n`);
      return 2;
    }
    if (e.name === "ConfigError") {
      process.stderr.write(`chorus: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`${name}: ${e.message}\n`);
    return 1;
  }
}
