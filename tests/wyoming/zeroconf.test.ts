/**
 * Zeroconf, as far as it can be checked offline: the DNS-SD records published for the
 * Wyoming server (the PTR Home Assistant browses for, `_wyoming._tcp.local`, pointing at
 * `<name>._wyoming._tcp.local` with an SRV on the server's port), built by bonjour-service
 * itself; and the advertisement's lifecycle (announce, unpublish) on a private mDNS port on the
 * loopback interface. Not verified here: that Home Assistant on a real LAN discovers it
 * (multicast does not leave this machine's loopback).
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { Service } from "bonjour-service";
import { advertise, serviceConfig } from "../../core/wyoming/zeroconf.ts";

describe("Wyoming zeroconf", () => {
  it("publishes <name>._wyoming._tcp.local with an SRV on the Wyoming port", () => {
    const service = new Service(
      serviceConfig("chorus", 10200),
      () => {},
      () => {},
    );
    const records = service.records();
    const ptr = records.find((r) => r.type === "PTR" && r.name === "_wyoming._tcp.local");
    expect(ptr?.data).toBe("chorus._wyoming._tcp.local");
    const srv = records.find((r) => r.type === "SRV");
    expect(srv).toMatchObject({ name: "chorus._wyoming._tcp.local", data: { port: 10200 } });
    expect(records.some((r) => r.type === "AAAA")).toBe(false);
  });

  it("points the SRV at <host>.local, the name its A records answer for (it was the bare host name)", () => {
    const service = new Service(
      serviceConfig("chorus", 10200, "kitchen-server.example.org"),
      () => {},
      () => {},
    );
    const records = service.records();
    const srv = records.find((r) => r.type === "SRV");
    expect((srv!.data as { target: string }).target).toBe("kitchen-server.local");
    // The A records sent for the machine's addresses carry the same name, so a resolver finds them.
    for (const a of records.filter((r) => r.type === "A")) expect(a.name).toBe("kitchen-server.local");
    expect(serviceConfig("chorus", 1).host).toMatch(/^[^.]+\.local$/); // this machine's name
  });

  it("announces and unpublishes (private port, loopback interface)", async () => {
    const ad = await advertise({
      name: "chorus-test",
      port: 10299,
      host: "0.0.0.0",
      log: pino({ level: "silent" }),
      mdns: { port: 53535, interface: "127.0.0.1", multicast: true, loopback: true },
    });
    expect(ad.name).toBe("chorus-test");
    expect(await ad.announced).toBe(true);
    await ad.stop();
  });
});

describe("wyoming.zeroconf in the server", () => {
  it("advertises the bound port under wyoming.zeroconfName, and stops with the server", async () => {
    const { testHost } = await import("../helpers/host.ts");
    const { startWyoming } = await import("../../core/wyoming/index.ts");
    const host = testHost({ wyoming: { port: 0, warmVoices: false, zeroconf: true, zeroconfName: "chorus-zc" } });
    const server = await startWyoming(host, { mdns: { port: 53536, interface: "127.0.0.1", multicast: true, loopback: true } });
    try {
      expect(server.advertisement?.name).toBe("chorus-zc");
      expect(await server.advertisement?.announced).toBe(true);
    } finally {
      await server.close();
      await host.close();
    }
  });
});
