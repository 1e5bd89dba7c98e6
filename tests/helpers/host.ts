/** Test helpers: a host and app over the real engines, quiet logs. */
import pino from "pino";
import { loadConfig } from "../../core/config/load.ts";
import type { Config } from "../../core/config/schema.ts";
import { createHost, type Host } from "../../core/host.ts";
import { validateSpeech, type SpeechRequest } from "../../core/request/speech-request.ts";
import { tempDir } from "./temp.ts";

let fileDataDir: string | undefined;

/**
 * This test file's own data folder (state, snapshots, engine data, outputs), removed when
 * the file ends. Never shared between files: a registry prunes the snapshot folders of its
 * data folder, so two files sharing one break each other's engines.
 */
export function testDataDir(): string {
  return (fileDataDir ??= tempDir("data"));
}

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  // Tests never read a user's config file or CHORUS_* variables.
  return loadConfig({ env: {}, overrides: { dataDir: testDataDir(), ...overrides } });
}

export function testHost(overrides: Record<string, unknown> = {}): Host {
  return createHost(testConfig(overrides), { log: pino({ level: "silent" }) });
}

/** A speech request as a surface makes one: through the one validator (the pipeline takes nothing else). */
export function speechRequest(fields: Record<string, unknown>, limits: { maxLength: number } = { maxLength: 5000 }): SpeechRequest {
  return validateSpeech(fields, limits);
}
