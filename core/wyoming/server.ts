/**
 * The Wyoming TCP server: one WyomingSession per connection, at most `maxConnections` at once
 * (one more gets an `error` event and is closed), the voice directory behind `describe`, and
 * the optional zeroconf advertisement. Runs beside the HTTP server on the same Host.
 */
import net from "node:net";
import path from "node:path";
import type { Logger } from "pino";
import { resolvePath } from "../config/load.ts";
import type { Host } from "../host.ts";
import { encodeEvent } from "./framing.ts";
import { wyomingMetrics } from "./metrics.ts";
import { WyomingSession } from "./session.ts";
import { VoiceDirectory } from "./voices.ts";
import { advertise, type Advertisement, type AdvertiseOptions } from "./zeroconf.ts";

export interface WyomingServer {
  /** `tcp://host:port` as bound (the port is the real one when 0 was asked for). */
  uri: string;
  port: number;
  voices: VoiceDirectory;
  /** Connections open now (one counts until its synthesis has stopped). */
  readonly connections: number;
  /** Resolves when the first voice lists have been asked for (with `warmVoices`). */
  warmed: Promise<void>;
  /** The zeroconf advertisement, when `wyoming.zeroconf` is on. */
  advertisement?: Advertisement;
  /** Stops accepting, cuts open connections (their syntheses are cancelled), unpublishes. */
  close(): Promise<void>;
  /**
   * Stops accepting and unpublishes; idle connections end now, busy ones once their request
   * is answered. Resolves when all have ended (`close()` cuts the rest, e.g. after a grace period).
   */
  shutdown(): Promise<void>;
}

export async function startWyoming(host: Host, options: { host?: string; port?: number; mdns?: AdvertiseOptions["mdns"] } = {}): Promise<WyomingServer> {
  const config = host.config.wyoming;
  const log: Logger = host.log.child({ component: "wyoming" });
  const voices = new VoiceDirectory(host.registry, host.scheduler, host.pipeline, log, resolvePath(host.config.dataDir));
  const sockets = new Set<net.Socket>();
  const metrics = wyomingMetrics(host.scheduler.metrics.registry);
  const sessions = new Map<Promise<void>, WyomingSession>();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    if (sockets.size >= config.maxConnections) {
      log.warn({ maxConnections: config.maxConnections, remote: socket.remoteAddress }, "wyoming connection refused: too many connections");
      metrics.protocolErrors.inc({ code: "CHORUS_ERR_CONNECTION_LIMIT" });
      socket.on("error", () => {});
      socket.end(
        encodeEvent("error", { text: `too many connections (wyoming.maxConnections is ${config.maxConnections})`, code: "CHORUS_ERR_CONNECTION_LIMIT" }),
        () => socket.destroy(),
      );
      return;
    }
    sockets.add(socket);
    metrics.connections.inc();
    const session = new WyomingSession(socket, {
      config,
      maxTextLength: host.config.text.maxLength,
      pipeline: host.pipeline,
      registry: host.registry,
      voices,
      log,
      metrics,
    });
    const running = session.run();
    sessions.set(running, session);
    void running.finally(() => {
      sockets.delete(socket);
      metrics.connections.dec();
      sessions.delete(running);
    });
  });
  server.maxConnections = config.maxConnections * 2; // beyond this the kernel refuses; below, we answer
  const bindHost = options.host ?? config.host;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: bindHost, port: options.port ?? config.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => log.error({ err }, "wyoming server error"));
  const port = (server.address() as net.AddressInfo).port;
  const uri = `tcp://${bindHost.includes(":") ? `[${bindHost}]` : bindHost}:${port}`;
  const warmed = voices.start(config.warmVoices);
  let ad: Advertisement | undefined;
  if (config.zeroconf) ad = await advertise({ name: config.zeroconfName, port, host: bindHost, log, mdns: options.mdns });
  log.info({ uri, zeroconf: config.zeroconf, dataDir: path.relative(process.cwd(), resolvePath(host.config.dataDir)) || "." }, "wyoming listening");
  // net.Server.close stops accepting at once; its callback waits for every connection to end.
  let serverClosed: Promise<void> | undefined;
  const stopAccepting = async () => {
    if (!serverClosed) {
      serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      voices.close();
      await ad?.stop();
    }
  };
  return {
    uri,
    port,
    get connections() {
      return sockets.size;
    },
    voices,
    warmed,
    advertisement: ad,
    close: async () => {
      await stopAccepting();
      for (const socket of sockets) socket.destroy();
      await Promise.allSettled([...sessions.keys()]);
      await serverClosed;
    },
    shutdown: async () => {
      await stopAccepting();
      for (const session of sessions.values()) session.closeWhenIdle();
      await Promise.allSettled([...sessions.keys()]);
      await serverClosed;
    },
  };
}
