/** Test helpers: a host and app over the real engines, quiet logs. */
import pino from "pino";
import { loadConfig } from "../../core/config/load.ts";
import type { Config } from "../../core/config/schema.ts";
import { createHost, type Host } from "../../core/host.ts";

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  // Tests never read a user's config file or CHORUS_* variables.
  return loadConfig({ env: {}, overrides: { dataDir: "var/test", ...overrides } });
}

export function testHost(overrides: Record<string, unknown> = {}): Host {
  return createHost(testConfig(overrides), { log: pino({ level: "silent" }) });
}
