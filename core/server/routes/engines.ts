/** GET /api/engines and GET /api/voices?engine=ID. */
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { fromZod } from "../errors.ts";

const VoicesQuery = z.object({ engine: z.string().min(1).optional() });

export const engineRoutes: FastifyPluginAsync = async (app) => {
  const { registry, scheduler, pipeline } = app.host;

  app.get("/api/engines", async () => {
    const selected = registry.selection.current();
    // Loaded engines are asked how they are (`Engine.health()`), all at once, briefly.
    const health = new Map(await Promise.all(registry.list().map(async (e) => [e.id, await scheduler.health(e.id)] as const)));
    const engines = registry.list().map((entry) => {
      const m = entry.manifest;
      const setup = registry.needsSetup(entry);
      return {
        id: entry.id,
        name: m?.name ?? entry.id,
        version: m?.version ?? null,
        description: m?.description ?? "",
        state: entry.status === "failed" ? "failed" : setup ? "needs setup" : scheduler.isLoaded(entry.id) ? "loaded" : "available",
        runtime: m?.runtime ?? "node",
        // Python engines whose environment is missing or stale: why, and the command to run.
        ...(setup ? { setup } : {}),
        default: entry.id === selected,
        languages: m?.languages ?? [],
        defaultVoice: m?.defaultVoice ?? null,
        capabilities: m?.capabilities ?? null,
        resources: m?.resources ?? null,
        options: m?.options ?? {},
        errors: registry.problems(entry),
        health: health.get(entry.id) ?? [],
        generation: entry.generation,
        dir: entry.dir,
      };
    });
    return { default: selected, engines };
  });

  app.get("/api/voices", async (request) => {
    const query = VoicesQuery.safeParse(request.query);
    if (!query.success) throw fromZod(query.error, "query");
    const engine = query.data.engine ?? registry.selection.current();
    const voices = await pipeline.voices(engine);
    // `voices` as plain ids keeps AllTalk-style clients working; `details` has the rest.
    // `default`: the voice a request naming none gets (the manifest's defaultVoice, else the first).
    const manifestDefault = registry.manifest(engine)?.defaultVoice;
    const fallbackVoice = voices.find((v) => v.id === manifestDefault) ?? voices[0];
    return { status: "success", engine, voices: voices.map((v) => v.id), details: voices, default: fallbackVoice?.id ?? null };
  });
};
