/** The `wyoming.*` settings: off, loopback and port 10200 by default; bad values named. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../core/config/load.ts";

describe("wyoming configuration", () => {
  it("is off by default, on loopback, on wyoming-piper's port, zeroconf off", () => {
    const { wyoming } = loadConfig({ env: {} });
    expect(wyoming).toMatchObject({ enabled: false, host: "127.0.0.1", port: 10200, zeroconf: false, sampleRate: null, samplesPerChunk: 1024 });
    expect(wyoming.maxConnections).toBeGreaterThan(0);
    expect(wyoming.maxDataBytes).toBeGreaterThan(0);
  });

  it("is set from CHORUS_WYOMING__* variables, and names the key when a value is wrong", () => {
    const c = loadConfig({ env: { CHORUS_WYOMING__ENABLED: "true", CHORUS_WYOMING__HOST: "0.0.0.0", CHORUS_WYOMING__MAX_CONNECTIONS: "3" } });
    expect(c.wyoming).toMatchObject({ enabled: true, host: "0.0.0.0", maxConnections: 3 });
    expect(() => loadConfig({ env: { CHORUS_WYOMING__PORT: "70000" } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { CHORUS_WYOMING__PORT: "70000" } })).toThrow(/wyoming\.port/);
    expect(() => loadConfig({ env: { CHORUS_WYOMING__SAMPLES_PER_CHUNK: "0" } })).toThrow(/wyoming\.samplesPerChunk/);
    expect(() => loadConfig({ env: { CHORUS_WYOMING__ENABLE: "true" } })).toThrow(/enable/);
  });
});
