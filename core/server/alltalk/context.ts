/**
 * What the AllTalk routes share (settings-routes.ts, synth-routes.ts): the surface's state,
 * the folder its files are written to, and the generations in flight (for /api/stop-generation).
 */
import path from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { CHORUS_ROOT } from "../../config/load.ts";
import type { Host } from "../../host.ts";
import { abortOnDisconnect } from "../routes/speech.ts";

export interface AllTalkState {
  /** AllTalk's current engine: the host's runtime default (changed by /api/reload). */
  readonly engine: string;
  lowVram: boolean;
  /** The model chosen with /api/reload, per engine. */
  models: Map<string, string>;
}

export interface AllTalkContext {
  host: Host;
  state: AllTalkState;
  /** Where generated files are written and served from (/audio/). */
  outputsDir: string;
  /** The generations in flight. */
  running: Set<AbortController>;
  /** An abort signal that fires on disconnect or PUT /api/stop-generation. */
  track(request: FastifyRequest, reply: FastifyReply): AbortController;
}

export function createContext(app: FastifyInstance): AllTalkContext {
  const host = app.host;
  const { registry, config } = host;
  // AllTalk's current engine is the host's runtime default (registry selection, persisted in
  // state.json): /api/reload changes it for every API, as `chorus use` does.
  const state: AllTalkState = {
    get engine() {
      return registry.selection.current();
    },
    lowVram: false,
    models: new Map<string, string>(),
  };
  const running = new Set<AbortController>();
  const track = (request: FastifyRequest, reply: FastifyReply) => {
    const controller = new AbortController();
    const disconnect = abortOnDisconnect(request, reply);
    disconnect.addEventListener("abort", () => controller.abort(disconnect.reason));
    running.add(controller);
    reply.raw.on("close", () => running.delete(controller));
    return controller;
  };
  return { host, state, outputsDir: path.resolve(CHORUS_ROOT, config.dataDir, config.compat.alltalk.outputsDir), running, track };
}
