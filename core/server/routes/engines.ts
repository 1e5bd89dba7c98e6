/**
 * GET /api/engines and GET /api/voices[?engine=ID]. Without `engine`, /api/voices lists every
 * voice a client can send: the default engine's as plain ids, then every other available
 * engine's as `engine:voice` (which every surface accepts; GPU-only engines only when loaded);
 * `?engine=ID` lists one engine's.
 */
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { engineState } from "../../registry/engine-state.ts";
import { fromZod } from "../errors.ts";
import { abortOnDisconnect } from "./speech.ts";
import { publicPath, publicRoots, scrubPaths } from "../public-paths.ts";

const VoicesQuery = z.object({ engine: z.string().min(1).optional() });

export const engineRoutes: FastifyPluginAsync = async (app) => {
  const { registry, scheduler, pipeline } = app.host;
  const dirs = publicRoots(app.host.config);

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
        state: engineState(entry, setup, scheduler.isLoaded(entry.id)),
        runtime: m?.runtime ?? "node",
        // Python engines whose environment is missing or stale: why, and the command to run.
        ...(setup ? { setup } : {}),
        default: entry.id === selected,
        languages: m?.languages ?? [],
        defaultVoice: m?.defaultVoice ?? null,
        capabilities: m?.capabilities ?? null,
        resources: m?.resources ?? null,
        // Profiles whose required Python modules do not import in the environment (e.g. DeepSpeed): never placed.
        profilesNotOffered:
          m && entry.status === "available"
            ? m.resources.profiles.filter((p) => !registry.profileOffered(entry.id, p)).map((p) => ({ name: p.name, requires: p.requires ?? [] }))
            : [],
        options: m?.options ?? {},
        errors: registry.problems(entry).map((e) => scrubPaths(e, dirs)),
        health: health.get(entry.id) ?? [],
        generation: entry.generation,
        dir: publicPath(entry.dir, dirs),
      };
    });
    return { default: selected, engines };
  });

  app.get("/api/voices", async (request, reply) => {
    const query = VoicesQuery.safeParse(request.query);
    if (!query.success) throw fromZod(query.error, "query");
    const engine = query.data.engine ?? registry.selection.current();
    const voices = await pipeline.voices(engine, abortOnDisconnect(request, reply));
    // `voices` as plain ids keeps AllTalk-style clients working; `details` has the rest.
    // `default`: the voice a request naming none gets (the manifest's defaultVoice, else the first).
    const manifestDefault = registry.manifest(engine)?.defaultVoice;
    const fallbackVoice = voices.find((v) => v.id === manifestDefault) ?? voices[0];
    const defaultVoice = fallbackVoice?.id ?? null;
    if (query.data.engine) return { status: "success", engine, voices: voices.map((v) => v.id), details: voices, default: defaultVoice };
    const others = registry.list().filter((e) => e.id !== engine && e.status !== "failed" && e.manifest);
    const listed = await Promise.all(
      others.map(async (e) => {
        // Listing loads the engine: done for loaded engines and for those that can run on the
        // CPU, never to make room on a GPU just to list voices.
        if (!scheduler.isLoaded(e.id) && !e.manifest!.resources.profiles.some((p) => p.device === "cpu")) {
          return { engine: e.id, voices: [], error: `not loaded (GPU only); GET /api/voices?engine=${e.id} loads it and lists its voices` };
        }
        try {
          return { engine: e.id, voices: await pipeline.voices(e.id) };
        } catch (err) {
          return { engine: e.id, voices: [], error: (err as Error).message };
        }
      }),
    );
    return {
      status: "success",
      engine,
      voices: [...voices.map((v) => v.id), ...listed.flatMap((l) => l.voices.map((v) => `${l.engine}:${v.id}`))],
      details: voices,
      default: defaultVoice,
      others: listed.map((l) => ({ engine: l.engine, voices: l.voices.map((v) => `${l.engine}:${v.id}`), ...(l.error ? { error: l.error } : {}) })),
    };
  });
};
