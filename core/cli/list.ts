/**
 * `chorus engines` and `chorus voices [--engine ID]`. `engines` shows each engine's state: from
 * the running server when one answers at the configured address (`loaded`, `available`,
 * `failed`, and its default), else from the manifests alone (`available` or `failed`).
 */
import { createHost } from "../host.ts";
import { resolvePath } from "../config/load.ts";
import { cliConfig, missingDefault, serverHeaders, serverUrl, type CliValues } from "./options.ts";
import type { Config } from "../config/schema.ts";
import { CliFailure } from "./usage.ts";
import { engineState } from "../registry/engine-state.ts";
import type { EngineEntry } from "../registry/registry.ts";
import type { NeedsSetup } from "../python/index.ts";

type ServerEngines = { default: string; engines: { id: string; state: string }[] };

/** The running server's view of its engines; `problem` when none answers (quickly) or it refuses. */
async function serverEngines(config: Config, url: string | undefined): Promise<{ url: string; data?: ServerEngines; problem?: string }> {
  const base = serverUrl(config, url);
  try {
    const res = await fetch(`${base}/api/engines`, { headers: serverHeaders(config), signal: AbortSignal.timeout(1500) });
    if (res.status === 401) return { url: base, problem: `the server at ${base} wants an API key (compat.apiKey, e.g. CHORUS_COMPAT__API_KEY)` };
    if (!res.ok) return { url: base, problem: `the server at ${base} answered HTTP ${res.status}` };
    const data = (await res.json()) as ServerEngines;
    return Array.isArray(data?.engines) ? { url: base, data } : { url: base, problem: `${base} is not a Chorus server` };
  } catch {
    return { url: base, problem: `no server answers at ${base}` };
  }
}

export async function enginesCommand(values: CliValues): Promise<number> {
  const config = cliConfig(values);
  const host = createHost(config);
  try {
    const entries = host.registry.list();
    const answer = await serverEngines(config, values.url);
    const server = answer.data;
    // Without a server, the manifests' view (nothing is loaded here); with one, its state, unless the environment here needs setup.
    const stateOf = (e: EngineEntry, setup: NeedsSetup | undefined) =>
      setup || !server
        ? engineState(e, setup, false)
        : (server.engines.find((s) => s.id === e.id)?.state ?? (e.status === "failed" ? "failed" : "not on server"));
    const current = server?.default ?? host.registry.selection.current();
    if (values.json) {
      const list = entries.map((e) => {
        const setup = host.registry.needsSetup(e);
        return {
          id: e.id,
          state: stateOf(e, setup),
          default: e.id === current,
          version: e.manifest?.version,
          error: e.status === "failed" ? e.error : undefined,
          setup,
        };
      });
      process.stdout.write(
        `${JSON.stringify({ source: server ? answer.url : "manifests", ...(answer.problem ? { problem: answer.problem } : {}), engines: list }, null, 2)}\n`,
      );
      return 0;
    }
    for (const e of entries) {
      const mark = e.id === current ? "*" : " ";
      const setup = host.registry.needsSetup(e);
      const info =
        e.status === "failed"
          ? `FAILED: ${e.error}`
          : `${e.manifest.version}  ${e.manifest.name}  (${e.manifest.resources.profiles.map((p) => p.name).join(", ")})${setup ? `  NEEDS SETUP (${setup.reason}): run ${setup.command}` : ""}`;
      process.stdout.write(`${mark} ${e.id.padEnd(16)} ${stateOf(e, setup).padEnd(11)} ${info}\n`);
    }
    if (!entries.length) process.stdout.write(`no engines found in ${config.engines.dirs.map(resolvePath).join(", ")} (engines.dirs)\n`);
    process.stdout.write(
      server ? `(* default; state from the server at ${answer.url})\n` : `(* default; ${answer.problem}: state from the manifests, nothing is loaded)\n`,
    );
    const missing = server ? undefined : missingDefault(host.registry);
    if (missing) process.stderr.write(`note: ${missing}\n`);
    return entries.some((e) => e.status === "available") ? 0 : 1;
  } finally {
    await host.close();
  }
}

export async function voicesCommand(values: CliValues): Promise<number> {
  const config = cliConfig(values);
  const host = createHost(config);
  try {
    const missing = values.engine ? undefined : missingDefault(host.registry);
    if (missing) throw new CliFailure(missing);
    const engine = values.engine ?? host.registry.selection.current();
    const voices = await host.pipeline.voices(engine);
    if (values.json) process.stdout.write(`${JSON.stringify(voices, null, 2)}\n`);
    else for (const v of voices) process.stdout.write(`${v.id.padEnd(24)} ${v.name}  [${v.languages.join(", ")}]\n`);
    return 0;
  } finally {
    await host.close();
  }
}
