/**
 * `chorus wyoming [--host H] [--port P]`: only the Wyoming server (no HTTP API), until
 * SIGINT/SIGTERM. --host/--port set `wyoming.host`/`wyoming.port` here.
 */
import { loadConfig } from "../config/load.ts";
import { createHost } from "../host.ts";
import { startWyoming } from "../wyoming/index.ts";
import { listenFailure } from "./listen-failure.ts";
import { ensureDataDir, portFlag, type CliValues } from "./options.ts";

export async function wyomingCommand(values: CliValues): Promise<number> {
  const wyoming: Record<string, unknown> = { enabled: true };
  if (values.host !== undefined) wyoming.host = values.host;
  if (values.port !== undefined) wyoming.port = portFlag(values.port, "wyoming");
  const config = loadConfig({ file: values.config, overrides: { wyoming } });
  ensureDataDir(config);
  const host = createHost(config);
  let server;
  try {
    server = await startWyoming(host);
  } catch (err) {
    await host.close();
    throw listenFailure(err, config.wyoming.host, config.wyoming.port, "CHORUS_WYOMING__PORT", "--port");
  }
  await host.registry.watch();
  process.stderr.write(`chorus: Wyoming server on ${server.uri} (Home Assistant: Settings -> Devices & services -> Add integration -> Wyoming Protocol)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  // As `chorus serve`: the request in hand gets server.shutdownGraceSeconds to finish.
  const cut = setTimeout(() => void server.close(), config.server.shutdownGraceSeconds * 1000);
  process.once("SIGINT", () => void server.close());
  process.once("SIGTERM", () => void server.close());
  await host.registry.close();
  await server.shutdown();
  clearTimeout(cut);
  await host.close();
  return 0;
}
