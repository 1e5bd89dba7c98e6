/** Registry test helpers: temporary plugin roots, a config over them, and captured logs. */
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import { loadConfig } from "../../core/config/load.ts";
import type { Config } from "../../core/config/schema.ts";

export const FIXTURES = path.resolve(import.meta.dirname, "../hotswap/fixtures");

import { tempDir } from "../helpers/temp.ts";
import { pathToFileURL } from "node:url";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { readPluginFolder } from "../../core/registry/plugin-folder.ts";
import type { EngineBootData, EngineToHost } from "../../core/registry/protocol.ts";

export { tempDir };

export function registryConfig(roots: string[], overrides: Record<string, unknown> = {}): Config {
  return loadConfig({ env: {}, overrides: { dataDir: tempDir("regdata"), engines: { dirs: roots }, ...overrides } });
}

/** A logger whose JSON lines land in `lines`. */
export function captureLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: "debug" }, sink), lines };
}

export function install(fixture: string, root: string, name = fixture): string {
  const dir = path.join(root, name);
  fs.cpSync(path.join(FIXTURES, fixture), dir, { recursive: true });
  return dir;
}

export function setVersion(dir: string, version: string, extra: Record<string, unknown> = {}): void {
  const file = path.join(dir, "plugin.json");
  fs.writeFileSync(file, JSON.stringify({ ...(JSON.parse(fs.readFileSync(file, "utf8")) as object), version, ...extra }));
}

/**
 * Polls `check` until it holds. `ms` is only a ceiling against a condition that never comes
 * (at least 30 s whatever the caller passes): a short figure would make a test flake on a
 * loaded machine, and speed is for benchmarks.
 */
export async function until<T>(check: () => T | Promise<T>, requestedMs: number, what: string): Promise<NonNullable<T>> {
  const ms = Math.max(30_000, requestedMs);
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The flood fixture engine (fixtures/flood). */
export const FLOOD = path.resolve(import.meta.dirname, "fixtures/flood");
const channels: MessageChannel[] = [];

/**
 * A MessageChannel for the real Node runtime (as between a worker and the host) and the flood
 * fixture's boot data: run `runEngine(boot, portChannel(engineSide, ...))`, talk on `hostSide`.
 * `closeChannels()` (after each test) closes them.
 */
export function floodChannel(): { engineSide: MessagePort; hostSide: MessagePort; boot: EngineBootData } {
  const entry = readPluginFolder(FLOOD);
  if (entry.status !== "available") throw new Error(entry.error);
  const channel = new MessageChannel();
  channels.push(channel);
  const boot = { manifest: entry.manifest, pluginDir: FLOOD, entryUrl: pathToFileURL(path.join(FLOOD, entry.manifest.entry)).href };
  return { engineSide: channel.port1, hostSide: channel.port2, boot };
}

export function closeChannels(): void {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
}

/** Every message the runtime sends on `hostSide`; `done` resolves at the first answer (`result` or `error`). */
export function collect(hostSide: MessagePort): { messages: EngineToHost[]; done: Promise<void> } {
  const messages: EngineToHost[] = [];
  const done = new Promise<void>((resolve) => {
    hostSide.on("message", (m: EngineToHost) => {
      messages.push(m);
      if (m.type === "result" || m.type === "error") resolve();
    });
  });
  return { messages, done };
}
