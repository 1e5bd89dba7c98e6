/**
 * The scheduler's API: GET /api/scheduler (devices, holdings, engines, queue, decisions) and
 * runtime controls under /api/scheduler/engines/:id (pin, unpin, unload, lowvram, keepalive).
 */
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { ChorusError } from "../../errors.ts";
import { fromZod } from "../errors.ts";

const SnapshotQuery = z.object({ decisions: z.coerce.number().int().min(0).max(1000).default(50) });
const LowVramBody = z.strictObject({ enabled: z.boolean() });
const KeepAliveBody = z.strictObject({ seconds: z.number().min(-1).nullable() });

export const schedulerRoutes: FastifyPluginAsync = async (app) => {
  const { scheduler, registry } = app.host;
  const engineParam = (params: unknown): string => {
    const id = (params as { id: string }).id;
    if (!registry.get(id)) throw new ChorusError("CHORUS_ERR_ENGINE_NOT_FOUND", `no engine '${id}'`, { field: "engine" });
    return id;
  };
  const body = <T>(schema: z.ZodType<T>, raw: unknown): T => {
    const parsed = schema.safeParse(raw ?? {});
    if (!parsed.success) throw fromZod(parsed.error);
    return parsed.data;
  };

  app.get("/api/scheduler", async (request) => {
    const query = SnapshotQuery.safeParse(request.query);
    if (!query.success) throw fromZod(query.error, "query");
    return scheduler.snapshot(query.data.decisions);
  });

  app.post("/api/scheduler/engines/:id/pin", async (request) => {
    const id = engineParam(request.params);
    scheduler.pin(id, true);
    return { engine: id, pinned: true };
  });

  app.post("/api/scheduler/engines/:id/unpin", async (request) => {
    const id = engineParam(request.params);
    scheduler.pin(id, false);
    return { engine: id, pinned: false };
  });

  app.post("/api/scheduler/engines/:id/unload", async (request) => {
    const id = engineParam(request.params);
    return { engine: id, unloading: scheduler.unload(id) };
  });

  app.post("/api/scheduler/engines/:id/lowvram", async (request) => {
    const id = engineParam(request.params);
    const { enabled } = body(LowVramBody, request.body);
    scheduler.setLowVram(id, enabled);
    return { engine: id, lowVram: enabled };
  });

  app.post("/api/scheduler/engines/:id/keepalive", async (request) => {
    const id = engineParam(request.params);
    const { seconds } = body(KeepAliveBody, request.body);
    scheduler.setKeepAlive(id, seconds ?? undefined);
    return { engine: id, keepAliveSeconds: seconds };
  });
};
