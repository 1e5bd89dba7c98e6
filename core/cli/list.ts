/** `chorus engines` and `chorus voices [--engine ID]`. */
import { createHost } from "../host.ts";
import { cliConfig, type CliValues } from "./main.ts";

export async function enginesCommand(values: CliValues): Promise<number> {
  const config = cliConfig(values);
  const host = createHost(config);
  try {
    const entries = host.registry.list();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(entries.map((e) => ({ id: e.id, status: host.registry.needsSetup(e) ? "needs setup" : e.status, version: e.manifest?.version, error: e.status === "failed" ? e.error : undefined, setup: host.registry.needsSetup(e) })), null, 2)}\n`);
      return 0;
    }
    for (const e of entries) {
      const mark = e.id === host.registry.selection.current() ? "*" : " ";
      const setup = host.registry.needsSetup(e);
      const info = e.status === "failed" ? `FAILED: ${e.error}` : `${e.manifest.version}  ${e.manifest.name}  (${e.manifest.resources.profiles.map((p) => p.name).join(", ")})${setup ? `  NEEDS SETUP (${setup.reason}): run ${setup.command}` : ""}`;
      process.stdout.write(`${mark} ${e.id.padEnd(16)} ${info}\n`);
    }
    return entries.some((e) => e.status === "available") ? 0 : 1;
  } finally {
    await host.close();
  }
}

export async function voicesCommand(values: CliValues): Promise<number> {
  const config = cliConfig(values);
  const host = createHost(config);
  try {
    const engine = values.engine ?? host.registry.selection.current();
    const voices = await host.pipeline.voices(engine);
    if (values.json) process.stdout.write(`${JSON.stringify(voices, null, 2)}\n`);
    else for (const v of voices) process.stdout.write(`${v.id.padEnd(24)} ${v.name}  [${v.languages.join(", ")}]\n`);
    return 0;
  } finally {
    await host.close();
  }
}
