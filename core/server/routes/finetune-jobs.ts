/**
 * Fine-tune jobs over HTTP (docs/finetune.md, "Running a fine-tune"):
 *   POST   /api/finetune/jobs              start a job (or `{"resume": ID}` a stopped one); 202 + its state
 *   GET    /api/finetune/jobs              every job's state, newest first
 *   GET    /api/finetune/jobs/:id          one job's state (`?log=N`: the last N log entries too)
 *   GET    /api/finetune/jobs/:id/events   the state, worker messages and job events as SSE
 *   POST   /api/finetune/jobs/:id/pause | /continue
 *   DELETE /api/finetune/jobs/:id          stop (the trainer writes a checkpoint; resumable)
 * Datasets must lie in `finetune.datasetDirs`, base models and outputs in
 * `finetune.runner.modelDirs`. Jobs run under the server's scheduler: the training lease moves
 * the engines on the job's GPU aside.
 */
import fs from "node:fs";
import path from "node:path";
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { CHORUS_ROOT } from "../../config/load.ts";
import { ChorusError } from "../../errors.ts";
import { isInside } from "../../finetune/confine.ts";
import { resolveGpu, type SchedulerSnapshot } from "../../finetune/gpu.ts";
import { configLauncher, jobsRoot, probesRoot, TrainerEnvironmentError } from "../../finetune/runner/environment.ts";
import type { FinetuneJob } from "../../finetune/runner/job.ts";
import { JobConflictError, JobManager, JobNotFoundError } from "../../finetune/runner/manager.ts";
import { buildSpec, JobRequestError } from "../../finetune/runner/spec.ts";
import { fromZod } from "../errors.ts";

const StartBody = z.strictObject({
  mode: z.enum(["train", "probe"]).default("train"),
  dataset: z.string().min(1),
  baseModel: z.string().min(1),
  out: z.string().min(1).optional(),
  plan: z.record(z.string(), z.unknown()).optional(),
  gpu: z.string().min(1).optional(),
  epochs: z.number().int().min(1).max(1000).optional(),
  language: z.string().min(2).max(8).optional(),
  os: z.enum(["linux", "windows"]).optional(),
  attention: z.enum(["auto", "eager", "sdpa"]).optional(),
  effectiveBatch: z.number().int().min(1).max(1024).optional(),
  maxClipSeconds: z.number().min(1).max(28).optional(),
});
const ResumeBody = z.strictObject({ resume: z.string().min(1), epochs: z.number().int().min(1).max(1000).optional() });

export const finetuneJobRoutes: FastifyPluginAsync = async (app) => {
  const { config, scheduler } = app.host;
  const manager = new JobManager(jobsRoot(config), { leases: scheduler.training, launch: configLauncher(config) }, probesRoot(config));
  app.addHook("onClose", async () => manager.close());
  const realRoots = (dirs: string[]) =>
    dirs
      .map((d) => path.resolve(CHORUS_ROOT, d))
      .filter((d) => fs.existsSync(d))
      .map((d) => fs.realpathSync(d));
  const datasetRoots = realRoots(config.finetune.datasetDirs);
  const modelRoots = realRoots(config.finetune.runner.modelDirs);

  /** An existing folder inside `roots` (or, with `create`, a new one whose nearest existing parent is inside). */
  const confined = (raw: string, roots: string[], field: string, setting: string, create = false): string => {
    if (!roots.length) throw new ChorusError("CHORUS_ERR_DATASET_FORBIDDEN", `no folders are configured in ${setting}`, { field });
    for (const c of path.isAbsolute(raw) ? [raw] : roots.map((r) => path.resolve(r, raw))) {
      let existing = path.resolve(c);
      while (create && !fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
      if (!isInside(existing, roots)) continue;
      if (fs.existsSync(c) && !fs.statSync(c).isDirectory()) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${raw} is not a folder`, { field });
      if (!fs.existsSync(c)) {
        if (!create) throw new ChorusError("CHORUS_ERR_DATASET_NOT_FOUND", `no folder ${raw}`, { field });
        return path.resolve(c);
      }
      return fs.realpathSync(c);
    }
    throw new ChorusError("CHORUS_ERR_DATASET_FORBIDDEN", `${raw} is not inside the folders in ${setting}`, { field });
  };
  const mapError = (err: unknown): never => {
    if (err instanceof JobNotFoundError) throw new ChorusError("CHORUS_ERR_FINETUNE_JOB_NOT_FOUND", err.message, { field: "id" });
    if (err instanceof JobConflictError) throw new ChorusError("CHORUS_ERR_FINETUNE_JOB_CONFLICT", err.message);
    if (err instanceof JobRequestError) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", err.message, { field: err.field });
    if (err instanceof TrainerEnvironmentError) throw new ChorusError("CHORUS_ERR_ENGINE_UNAVAILABLE", err.message);
    throw err;
  };
  const watch = (job: FinetuneJob) => {
    // A job that cannot start its worker fails at once; report that in the answer when it is quick.
    void job.run();
    return job.state;
  };

  app.post("/api/finetune/jobs", async (request, reply) => {
    const raw = (request.body ?? {}) as Record<string, unknown>;
    try {
      if ("resume" in raw) {
        const r = ResumeBody.safeParse(raw);
        if (!r.success) throw fromZod(r.error);
        return reply.code(202).send(watch(manager.resume(r.data.resume, { epochs: r.data.epochs })));
      }
      const r = StartBody.safeParse(raw);
      if (!r.success) throw fromZod(r.error);
      const b = r.data;
      const gpu = async () => {
        try {
          return await resolveGpu({ gpu: b.gpu }, config, { snapshot: async () => scheduler.snapshot(0) as unknown as SchedulerSnapshot });
        } catch (err) {
          throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `gpu: ${(err as Error).message}`, { field: "gpu" });
        }
      };
      const spec = await buildSpec(
        {
          mode: b.mode,
          datasetDir: confined(b.dataset, datasetRoots, "dataset", "finetune.datasetDirs"),
          baseModelDir: confined(b.baseModel, modelRoots, "baseModel", "finetune.runner.modelDirs"),
          outDir: b.out ? confined(b.out, modelRoots, "out", "finetune.runner.modelDirs", true) : undefined,
          plan: b.plan as never,
          planOptions: { os: b.os, attention: b.attention, effectiveBatch: b.effectiveBatch, maxClipSeconds: b.maxClipSeconds },
          gpu: b.gpu,
          epochs: b.epochs,
          language: b.language,
        },
        config,
        gpu,
      );
      return reply.code(202).send(watch(manager.start(spec)));
    } catch (err) {
      return mapError(err);
    }
  });

  app.get("/api/finetune/jobs", async () => ({ jobs: manager.list() }));

  app.get<{ Params: { id: string }; Querystring: { log?: string } }>("/api/finetune/jobs/:id", async (request) => {
    try {
      const { state } = manager.get(request.params.id);
      const n = Number(request.query.log ?? 0);
      return n > 0 ? { ...state, log: manager.log(request.params.id).slice(-Math.min(n, 1000)) } : state;
    } catch (err) {
      return mapError(err);
    }
  });

  app.delete<{ Params: { id: string } }>("/api/finetune/jobs/:id", async (request, reply) => {
    try {
      return reply.code(202).send(manager.stop(request.params.id));
    } catch (err) {
      return mapError(err);
    }
  });

  for (const action of ["pause", "continue"] as const) {
    app.post<{ Params: { id: string } }>(`/api/finetune/jobs/:id/${action}`, async (request) => {
      const job = manager.running(request.params.id);
      if (!job) return mapError(manager.get(request.params.id) && new JobConflictError(`job ${request.params.id} is not running`));
      if (action === "pause") job.pause();
      else job.resume();
      return job.state;
    });
  }

  app.get<{ Params: { id: string } }>("/api/finetune/jobs/:id/events", async (request, reply) => {
    let initial;
    try {
      initial = manager.get(request.params.id).state;
    } catch (err) {
      return mapError(err);
    }
    const job = manager.running(request.params.id);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    // Bounded: while a slow client has over 1 MiB unread, progress frames are dropped (the next state carries everything).
    const send = (event: string, data: unknown, droppable = false) => {
      if (droppable && res.writableLength > 1 << 20) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    send("state", initial);
    if (!job) return res.end();
    const onState = (s: unknown) => send("state", s, true);
    const onMessage = (m: unknown) => send("message", m, (m as { type?: string }).type === "progress");
    const onEvent = (e: unknown) => send("event", e);
    job.on("state", onState);
    job.on("message", onMessage);
    job.on("event", onEvent);
    const done = () => {
      job.off("state", onState);
      job.off("message", onMessage);
      job.off("event", onEvent);
    };
    res.once("close", done);
    void job.run().then((s) => {
      send("state", s);
      done();
      res.end();
    });
  });
};
