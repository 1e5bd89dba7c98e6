/**
 * `chorus finetune run | probe | setup` (docs/finetune.md, "Running a fine-tune").
 * run/probe take a training lease from a running Chorus's scheduler when one answers (the job
 * runs in the server, and this command follows its event stream), else from a scheduler of
 * their own in this process (the GPU as nvidia-smi or the config's simulated cards show it).
 */
import { parseArgs } from "node:util";
import pino from "pino";
import { resolvePath } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { resolveGpu } from "../finetune/gpu.ts";
import { DEFAULT_TRAINABLE_MODEL } from "../finetune/models/index.ts";
import { configLauncher, jobsRoot, probesRoot, runtimeOf } from "../finetune/runner/environment.ts";
import { JobManager } from "../finetune/runner/manager.ts";
import { buildSpec, type JobRequest } from "../finetune/runner/spec.ts";
import { formatPlan, makePlan, runSetup } from "../python/index.ts";
import { noGpuProbe, NvidiaSmiProbe } from "../scheduler/devices.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { systemClock } from "../scheduler/clock.ts";
import { followRemote, remoteBase } from "./finetune-remote.ts";
import { terminalView } from "./finetune-view.ts";
import { setupOptions, torchFlag } from "./setup-options.ts";

export class RunUsageError extends Error {}

const OPTIONS = {
  dataset: { type: "string" },
  "base-model": { type: "string" },
  out: { type: "string", short: "o" },
  plan: { type: "string" },
  epochs: { type: "string" },
  resume: { type: "string" },
  gpu: { type: "string" },
  server: { type: "string" },
  json: { type: "boolean" },
  os: { type: "string" },
  attention: { type: "string" },
  "effective-batch": { type: "string" },
  "max-clip-seconds": { type: "string" },
  language: { type: "string" },
  model: { type: "string" },
} as const;

function int(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new RunUsageError(`--${name} must be a whole number >= 1, got '${raw}'`);
  return n;
}

/** A scheduler of this process's own (no engines): the lease checks the card's memory. */
function localScheduler(config: Config): Scheduler {
  const s = config.scheduler;
  return new Scheduler({
    config: s,
    catalog: { manifest: () => undefined, get: () => undefined },
    loader: { load: async () => Promise.reject(new Error("the fine-tune command loads no engines")) },
    probe: s.devices.gpus === "off" ? noGpuProbe : new NvidiaSmiProbe(s.devices.nvidiaSmi),
    clock: systemClock,
    log: pino({ level: "silent" }),
  });
}

export async function runCommand(mode: "train" | "probe", args: string[], config: Config): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true });
  if (positionals.length) throw new RunUsageError(`unexpected '${positionals.join(" ")}'`);
  const json = !!values.json;
  const view = terminalView(json);
  const server = await remoteBase(values.server ?? "auto", config);
  const epochs = int("epochs", values.epochs);
  let request: JobRequest | undefined;
  if (!values.resume) {
    if (!values.dataset || !values["base-model"])
      throw new RunUsageError(
        `finetune ${mode === "train" ? "run" : "probe"} needs --dataset DIR and --base-model DIR${mode === "train" ? " and --out DIR" : ""} (or --resume JOB)`,
      );
    const plan = values.plan ? (JSON.parse((await import("node:fs")).readFileSync(values.plan, "utf8")) as JobRequest["plan"]) : undefined;
    const maxClip = values["max-clip-seconds"] !== undefined ? Number(values["max-clip-seconds"]) : undefined;
    request = {
      mode,
      datasetDir: resolvePath(values.dataset),
      baseModelDir: resolvePath(values["base-model"]),
      outDir: values.out ? resolvePath(values.out) : undefined,
      plan,
      planOptions: {
        os: values.os as "linux" | "windows" | undefined,
        attention: values.attention as "auto" | "eager" | "sdpa" | undefined,
        effectiveBatch: int("effective-batch", values["effective-batch"]),
        maxClipSeconds: maxClip,
      },
      gpu: values.gpu,
      epochs,
      language: values.language,
      model: values.model,
    };
  }
  if (server) return followRemote(server, request, values.resume, epochs, view);

  const scheduler = localScheduler(config);
  const manager = new JobManager(jobsRoot(config), { leases: scheduler.training, launch: configLauncher(config) }, probesRoot(config));
  try {
    let job;
    if (values.resume) job = manager.resume(values.resume, { epochs });
    else {
      const spec = await buildSpec(request!, config, () => resolveGpu({ gpu: values.gpu }, config));
      job = manager.start(spec);
      if (!json)
        process.stderr.write(
          `job ${spec.id}: folder ${manager.root}/${spec.id}; ${spec.mode === "probe" ? "probe" : `training into ${spec.outDir}`} at batch ${spec.planned.batchSize} x ${spec.planned.gradAccumSteps}, clips up to ${spec.planned.maxClipSeconds} s; predicted peak ${spec.predictedMb} MB\n`,
        );
    }
    job.on("event", (e) => view.event(e));
    job.on("message", (m) => view.message(m));
    job.on("state", (s) => view.state(s));
    let interrupts = 0;
    const onSigint = () => {
      if (++interrupts > 1) process.exit(130);
      process.stderr.write("\nstopping: the trainer writes a checkpoint first (Ctrl-C again to quit at once)\n");
      job.stop();
    };
    process.on("SIGINT", onSigint);
    const state = await job.run();
    process.off("SIGINT", onSigint);
    view.end(state);
    return state.status === "finished" ? 0 : state.status === "stopped" ? 130 : 1;
  } finally {
    await scheduler.close();
  }
}

export async function setupCommand(args: string[], config: Config): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { torch: { type: "string" }, python: { type: "string" }, model: { type: "string" }, "dry-run": { type: "boolean" }, force: { type: "boolean" } },
  });
  const runtime = runtimeOf(values.model ?? DEFAULT_TRAINABLE_MODEL);
  const torch = torchFlag(values.torch, (message) => new RunUsageError(message));
  const plan = makePlan(runtime.environment, setupOptions(config, { ...values, torch }));
  process.stdout.write(`${formatPlan(plan)}\n`);
  if (values["dry-run"] || plan.action === "none") return 0;
  await runSetup(plan, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`fine-tune environment ready. The base model: ${runtime.baseModelHint}\n`);
  return 0;
}
