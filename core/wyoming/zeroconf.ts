/**
 * Zeroconf (mDNS/DNS-SD) advertisement of the Wyoming server as `<name>._wyoming._tcp.local.`,
 * the service type Home Assistant's Wyoming integration browses for (with bonjour-service).
 * The library answers for the machine's addresses; it is loaded only when zeroconf is on.
 */
import os from "node:os";
import type { Logger } from "pino";

export interface Advertisement {
  /** The advertised instance name (the library may add a suffix on a name conflict). */
  name: string;
  /** Resolves when the service has been announced (or failed to be). */
  announced: Promise<boolean>;
  stop(): Promise<void>;
}

export interface AdvertiseOptions {
  name: string;
  port: number;
  /** The address the server is bound to: a loopback bind cannot be reached from the LAN. */
  host: string;
  log: Logger;
  /** multicast-dns socket options (tests use a private port and the loopback interface). */
  mdns?: { port?: number; interface?: string; ip?: string; loopback?: boolean; multicast?: boolean };
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/**
 * The host name the SRV record points at and the A records answer for: `<host>.local`, as
 * mDNS requires (bonjour-service would use the bare `os.hostname()`, which Avahi and Bonjour
 * resolvers do not look up over mDNS).
 */
export function mdnsHostName(hostname: string): string {
  const label = hostname.trim().split(".")[0] || "chorus";
  return `${label}.local`;
}

/** What is published: `<name>._wyoming._tcp.local.` on `port`, IPv4 (as the Wyoming library does), on `<host>.local`. */
export function serviceConfig(name: string, port: number, hostname = os.hostname()) {
  return { name, type: "wyoming", protocol: "tcp" as const, port, host: mdnsHostName(hostname), disableIPv6: true };
}

export async function advertise(options: AdvertiseOptions): Promise<Advertisement> {
  const { Bonjour } = await import("bonjour-service");
  if (LOOPBACK.test(options.host)) {
    options.log.warn(
      { host: options.host },
      "wyoming.zeroconf is on but wyoming.host is a loopback address: Home Assistant will find the server but cannot connect (set wyoming.host to 0.0.0.0)",
    );
  }
  const bonjour = new Bonjour(options.mdns ?? {}, (err: Error) => options.log.warn({ err: err.message }, "zeroconf error"));
  // Wyoming's own zeroconf registers no TXT records; bonjour-service sends an empty TXT.
  const service = bonjour.publish(serviceConfig(options.name, options.port));
  service.on("error", (err: Error) => options.log.warn({ err: err.message }, "zeroconf: could not publish the service"));
  options.log.info({ name: `${options.name}._wyoming._tcp.local.`, port: options.port }, "wyoming advertised over zeroconf");
  const announced = new Promise<boolean>((resolve) => {
    service.once("up", () => resolve(true));
    service.once("error", () => resolve(false));
  });
  return {
    name: service.name,
    announced,
    stop: () =>
      new Promise<void>((resolve) => {
        bonjour.unpublishAll(() => bonjour.destroy(() => resolve()));
      }),
  };
}
