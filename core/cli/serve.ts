/**
 * `chorus serve`: the HTTP server until SIGINT/SIGTERM. On the signal it stops accepting,
 * gives running requests `server.shutdownGraceSeconds` to finish, then cuts the remaining
 * connections (a second signal cuts them at once) and stops the engines.
 */
import { warmEncoders } from "../audio/encoders/index.ts";
import { createHost } from "../host.ts";
import { buildApp } from "../server/app.ts";
import { startWyoming, type WyomingServer } from "../wyoming/index.ts";
import { cliConfig, ensureDataDir, missingDefault, type CliValues } from "./options.ts";
import { listenFailure } from "./listen-failure.ts";

export async function serveCommand(values: CliValues): Promise<number> {
  const config = cliConfig(values, false);
  ensureDataDir(config);
  warmEncoders(); // before the engines load: see core/audio/encoders/index.ts
  const host = createHost(config);
  const app = await buildApp(host);
  let address: string;
  try {
    address = await app.listen({ host: config.server.host, port: config.server.port });
  } catch (err) {
    await app.close();
    await host.close();
    throw listenFailure(err, config.server.host, config.server.port);
  }
  await host.registry.watch(); // hot-swap plugins while serving
  let wyoming: WyomingServer | undefined;
  try {
    if (config.wyoming.enabled) wyoming = await startWyoming(host); // docs/wyoming.md
  } catch (err) {
    await host.registry.close();
    await app.close();
    await host.close();
    throw listenFailure(err, config.wyoming.host, config.wyoming.port, "CHORUS_WYOMING__PORT");
  }
  const missing = missingDefault(
    host.registry,
    "requests that name no engine fail until one is made the default (chorus use ID, POST /api/engines/ID/activate)",
  );
  if (missing) host.log.warn(missing);
  host.log.info(
    { address, defaultEngine: host.registry.selection.current(), engines: host.registry.list().map((e) => `${e.id}:${e.status}`) },
    "chorus listening",
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      host.log.info({ signal, graceSeconds: config.server.shutdownGraceSeconds }, "shutting down");
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  const cutOff = () => {
    host.log.warn("cutting off the requests still running");
    app.server.closeAllConnections();
    void wyoming?.close();
  };
  const timer = setTimeout(cutOff, config.server.shutdownGraceSeconds * 1000);
  // Keep-alive connections close as their requests end (server/unused-connections.ts).
  process.once("SIGINT", cutOff);
  process.once("SIGTERM", cutOff);
  await host.registry.close();
  await Promise.all([wyoming?.shutdown(), app.close()]);
  clearTimeout(timer);
  await host.close();
  return 0;
}
