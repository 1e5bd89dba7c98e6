import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, envToConfig, loadConfig } from "../../core/config/load.ts";
import { main } from "../../core/cli/main.ts";
import { tempDir } from "../helpers/temp.ts";

describe("configuration", () => {
  it("has sane defaults from config/default.json", () => {
    const c = loadConfig({ env: {} });
    expect(c.server).toMatchObject({ host: "127.0.0.1", port: 7851 });
    expect(c.engines.default).toBe("espeak");
    expect(c.text.maxLength).toBeGreaterThan(100);
  });

  it("maps CHORUS_* variables onto keys, parsing JSON values", () => {
    expect(envToConfig({ CHORUS_SERVER__PORT: "8000", CHORUS_TEXT__MAX_LENGTH: "20", CHORUS_ENGINES__DIRS: '["a","b"]', HOME: "/x" })).toEqual({
      server: { port: 8000 },
      text: { maxLength: 20 },
      engines: { dirs: ["a", "b"] },
    });
    expect(loadConfig({ env: { CHORUS_SERVER__PORT: "8000" } }).server.port).toBe(8000);
  });

  it("merges a --config file under the environment", () => {
    const file = path.join(tempDir("cfg"), "c.json");
    fs.writeFileSync(file, JSON.stringify({ server: { port: 9000 }, text: { maxLength: 10 } }));
    const c = loadConfig({ file, env: { CHORUS_TEXT__MAX_LENGTH: "11" } });
    expect(c.server.port).toBe(9000);
    expect(c.server.host).toBe("127.0.0.1");
    expect(c.text.maxLength).toBe(11);
  });

  it("names the key and the expectation when invalid", () => {
    expect(() => loadConfig({ env: { CHORUS_SERVER__PORT: "lots" } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { CHORUS_SERVER__PORT: "lots" } })).toThrow(/server\.port: .*expected number/);
    expect(() => loadConfig({ env: { CHORUS_LOG__LEVEL: "loud" } })).toThrow(/log\.level/);
    expect(() => loadConfig({ env: { CHORUS_SERVR__PORT: "1" } })).toThrow(/servr/);
  });

  it("stops the CLI with exit code 2 on an invalid config", async () => {
    const saved = process.env.CHORUS_SERVER__PORT;
    process.env.CHORUS_SERVER__PORT = "-5";
    try {
      expect(await main(["engines"])).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.CHORUS_SERVER__PORT;
      else process.env.CHORUS_SERVER__PORT = saved;
    }
  });
});
