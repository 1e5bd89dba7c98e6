/** Test helper: a real Chorus listening on 127.0.0.1 (random port), with compat settings. */
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { createHost, type Host } from "../../core/host.ts";
import { buildApp } from "../../core/server/app.ts";
import { testConfig } from "../helpers/host.ts";

export interface RunningChorus {
  host: Host;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** `compat` is the config's `compat` section (validated with the rest). */
export async function startChorus(compat: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}): Promise<RunningChorus> {
  const config = testConfig({ ...overrides, compat });
  const host = createHost(config, { log: pino({ level: "silent" }) });
  const app = await buildApp(host);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    host,
    app,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      await host.close();
    },
  };
}
