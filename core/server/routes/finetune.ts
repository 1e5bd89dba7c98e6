/**
 * POST /api/finetune/check and POST /api/finetune/plan: the dataset check and the VRAM planner
 * for the web page. The dataset is a folder on the server's machine and must lie inside one of
 * `finetune.datasetDirs` (symlinks resolved); nothing outside them is read, not even a clip a
 * metadata file points at. The card comes from the scheduler's own device view (what other
 * processes and Chorus's engines hold) or from the body.
 * GET /api/finetune/clip plays one clip of a dataset (WAV as it is, anything else decoded to WAV
 * by the shipped ffmpeg) and POST /api/finetune/transcript corrects a clip's transcript in the
 * dataset's metadata (a backup kept) and answers with the check re-run; both are confined the same way.
 */
import fs from "node:fs";
import path from "node:path";
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { ChorusError } from "../../errors.ts";
import { fromZod } from "../errors.ts";
import { checkDataset } from "../../finetune/check.ts";
import { isInside } from "../../finetune/confine.ts";
import { DatasetPathError, readDataset } from "../../finetune/dataset/read.ts";
import { DecodeError, decodeAudio } from "../../finetune/dataset/audio.ts";
import { correctTranscript, findEntry, TranscriptError } from "../../finetune/dataset/transcript.ts";
import { wavFile } from "../../audio/output/wav.ts";
import { TRAINABLE_MODELS, trainableModel } from "../../finetune/models/index.ts";
import { resolveGpu, type SchedulerSnapshot } from "../../finetune/gpu.ts";
import { hostOs, planFromReport, trainerMemoryFraction } from "../../finetune/plan.ts";
import { loadProbe } from "../../finetune/runner/probes.ts";
import { probesRoot } from "../../finetune/runner/environment.ts";
import { CHORUS_ROOT } from "../../config/load.ts";

const Common = {
  dataset: z.string().min(1),
  model: z.enum(Object.keys(TRAINABLE_MODELS) as [string, ...string[]]).optional(),
  modelDir: z.string().min(1).optional(),
  language: z.string().min(2).max(8).optional(),
};
const CheckBody = z.strictObject({ ...Common, maxClipSeconds: z.number().min(0.5).max(60).optional() });
const ClipQuery = z.strictObject({ dataset: z.string().min(1), clip: z.string().min(1), split: z.enum(["train", "eval"]).optional() });
const TranscriptBody = z.strictObject({ ...Common, clip: z.string().min(1), split: z.enum(["train", "eval"]).optional(), text: z.string().max(2000) });
const PlanBody = z.strictObject({
  ...Common,
  maxClipSeconds: z.number().min(1).max(28).optional(),
  gpu: z.string().min(1).optional(),
  gpuTotalMb: z.number().positive().optional(),
  gpuUsedMb: z.number().nonnegative().optional(),
  os: z.enum(["linux", "windows"]).default(hostOs),
  attention: z.enum(["auto", "eager", "sdpa"]).default("auto"),
  effectiveBatch: z.number().int().min(1).max(1024).default(4),
});

export const finetuneRoutes: FastifyPluginAsync = async (app) => {
  const { config, scheduler } = app.host;
  const roots = config.finetune.datasetDirs
    .map((d) => path.resolve(CHORUS_ROOT, d))
    .filter((d) => fs.existsSync(d))
    .map((d) => fs.realpathSync(d));

  /** The folder `raw` names (absolute, or relative to the first dataset folder), if it is allowed. */
  const confined = (raw: string, field: string): string => {
    if (!roots.length) throw new ChorusError("CHORUS_ERR_DATASET_FORBIDDEN", "no dataset folders are configured (finetune.datasetDirs)", { field });
    const candidates = path.isAbsolute(raw) ? [raw] : roots.map((r) => path.resolve(r, raw));
    for (const c of candidates) {
      if (!isInside(c, roots)) continue;
      if (!fs.statSync(c).isDirectory()) throw new ChorusError("CHORUS_ERR_DATASET_NOT_FOUND", `${raw} is not a folder`, { field });
      return fs.realpathSync(c);
    }
    // Distinguish "outside" from "missing" only for paths inside the roots, so nothing is revealed about the rest.
    const lexical = candidates.find((c) => roots.some((r) => path.resolve(c).startsWith(r + path.sep)));
    if (lexical && !fs.existsSync(lexical)) throw new ChorusError("CHORUS_ERR_DATASET_NOT_FOUND", `no folder ${raw} in the dataset folders`, { field });
    throw new ChorusError("CHORUS_ERR_DATASET_FORBIDDEN", `${raw} is not inside the configured dataset folders`, { field });
  };
  const parse = <T>(schema: z.ZodType<T>, body: unknown): T => {
    const r = schema.safeParse(body ?? {});
    if (!r.success) throw fromZod(r.error);
    return r.data;
  };

  const runCheck = async (b: z.infer<typeof CheckBody>, signal: AbortSignal) => {
    try {
      return await checkDataset(confined(b.dataset, "dataset"), {
        model: trainableModel(b.model),
        language: b.language,
        modelDir: b.modelDir ? confined(b.modelDir, "modelDir") : undefined,
        maxClipSeconds: b.maxClipSeconds,
        confineTo: roots,
        signal,
      });
    } catch (err) {
      if (err instanceof DatasetPathError) throw new ChorusError("CHORUS_ERR_DATASET_FORBIDDEN", err.message, { field: "dataset" });
      throw err;
    }
  };

  /** Aborted when the client goes away before the answer is sent (ffmpeg decodes stop). */
  const abortOnClose = (res: { once(e: "close", f: () => void): unknown; writableFinished: boolean }) => {
    const controller = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    return controller.signal;
  };

  app.post("/api/finetune/check", async (request, reply) => runCheck(parse(CheckBody, request.body), abortOnClose(reply.raw)));

  app.post("/api/finetune/plan", async (request, reply) => {
    const b = parse(PlanBody, request.body);
    const dataset = confined(b.dataset, "dataset");
    let gpu;
    try {
      gpu = await resolveGpu({ gpu: b.gpu, totalMb: b.gpuTotalMb, usedMb: b.gpuUsedMb }, config, {
        snapshot: async () => scheduler.snapshot(0) as unknown as SchedulerSnapshot,
      });
    } catch (err) {
      throw new ChorusError(
        "CHORUS_ERR_REQUEST_INVALID",
        `gpu: ${(err as Error).message.replace(/--gpu-total-mb N \[--gpu-used-mb M\]/, "gpuTotalMb [and gpuUsedMb]").replace(/--gpu/, "gpu")}`,
        { field: "gpu" },
      );
    }
    const model = trainableModel(b.model);
    const report = await runCheck({ ...b, dataset }, abortOnClose(reply.raw));
    // a probe filed for this card and model scales the predictions, as `chorus finetune plan` does
    const probe = loadProbe(probesRoot(config), gpu.name, model.id);
    return planFromReport(report, model, {
      gpu,
      os: b.os,
      memoryFraction: trainerMemoryFraction(config.finetune.runner.memoryFraction, b.os),
      attention: b.attention,
      effectiveBatch: b.effectiveBatch,
      probe,
    });
  });

  /** The dataset's entry for `clip`, its audio confined like every other file the API reads. */
  const clipOf = (q: z.infer<typeof ClipQuery>) => {
    const dir = confined(q.dataset, "dataset");
    let entry;
    try {
      entry = findEntry(readDataset(dir, roots), q.clip, q.split);
    } catch (err) {
      if (err instanceof DatasetPathError) throw new ChorusError("CHORUS_ERR_DATASET_FORBIDDEN", err.message, { field: "dataset" });
      if (err instanceof TranscriptError) throw new ChorusError("CHORUS_ERR_DATASET_NOT_FOUND", err.message, { field: "clip" });
      throw err;
    }
    if (!fs.existsSync(entry.audioPath)) throw new ChorusError("CHORUS_ERR_DATASET_NOT_FOUND", `${q.clip} (${entry.source}) does not exist`, { field: "clip" });
    if (!isInside(entry.audioPath, roots))
      throw new ChorusError("CHORUS_ERR_DATASET_FORBIDDEN", `${q.clip} lies outside the configured dataset folders`, { field: "clip" });
    return fs.realpathSync(entry.audioPath);
  };

  app.get("/api/finetune/clip", async (request, reply) => {
    const file = clipOf(parse(ClipQuery, request.query));
    const head = Buffer.alloc(12);
    const fd = fs.openSync(file, "r");
    try {
      fs.readSync(fd, head, 0, 12, 0);
    } finally {
      fs.closeSync(fd);
    }
    reply.header("cache-control", "no-store").type("audio/wav");
    if (head.toString("latin1", 0, 4) === "RIFF" && head.toString("latin1", 8, 12) === "WAVE") {
      return reply.header("content-length", fs.statSync(file).size).send(fs.createReadStream(file));
    }
    try {
      const decoded = await decodeAudio(file, 22050, 600, abortOnClose(reply.raw));
      return reply.send(wavFile(decoded.sampleRate, [decoded.samples]));
    } catch (err) {
      if (err instanceof DecodeError) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${path.basename(file)}: ${err.message}`, { field: "clip" });
      throw err;
    }
  });

  app.post("/api/finetune/transcript", async (request, reply) => {
    const b = parse(TranscriptBody, request.body);
    const dataset = confined(b.dataset, "dataset");
    let change;
    try {
      change = correctTranscript(dataset, b.clip, b.text, { split: b.split, confineTo: roots });
    } catch (err) {
      if (err instanceof DatasetPathError) throw new ChorusError("CHORUS_ERR_DATASET_FORBIDDEN", err.message, { field: "dataset" });
      if (err instanceof TranscriptError)
        throw new ChorusError(err.notFound ? "CHORUS_ERR_DATASET_NOT_FOUND" : "CHORUS_ERR_REQUEST_INVALID", err.message, { field: err.field });
      throw err;
    }
    const { text: _text, clip: _clip, split: _split, ...check } = b;
    return { change, report: await runCheck({ ...check, dataset }, abortOnClose(reply.raw)) };
  });
};
