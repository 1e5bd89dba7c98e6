/** `chorus serve`: the HTTP server until SIGINT/SIGTERM. */
import { createHost } from "../host.ts";
import { buildApp } from "../server/app.ts";
import { cliConfig, type CliValues } from "./main.ts";

export async function serveCommand(values: CliValues): Promise<number> {
  const config = cliConfig(values, false);
  const host = createHost(config);
  const app = await buildApp(host);
  let address: string;
  try {
    address = await app.listen({ host: config.server.host, port: config.server.port });
  } catch (err) {
    await app.close();
    await host.close();
    throw err;
  }
  await host.registry.watch(); // hot-swap plugins while serving
  host.log.info({ address, defaultEngine: host.registry.selection.current(), engines: host.registry.list().map((e) => `${e.id}:${e.status}`) }, "chorus listening");
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      host.log.info({ signal }, "shutting down");
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await host.registry.close();
  await app.close();
  await host.close();
  return 0;
}
