/**
 * Defect 4 (issue 11): each hot swap left an `[esbuild] <defunct>` child of the server. A
 * worker thread that transpiled TypeScript with tsx started its own esbuild process; when the
 * thread ended, nobody was left to reap it. Against a real `chorus serve`: 20 version edits,
 * each served (a request loads the new generation in a fresh worker), then 0 zombies.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engine, installFixture, speak, startServer, tempDir, waitFor, type TestServer } from "../hotswap/server.ts";

let server: TestServer;
let toneDir: string;

/** Children of `pid` in state Z (zombie), from /proc. */
function zombiesOf(pid: number): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === pid && fields[0] === "Z") out.push(`${name} ${stat.slice(stat.indexOf("("), stat.lastIndexOf(")") + 1)}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

beforeAll(async () => {
  const pluginsDir = tempDir("zombie-plugins");
  toneDir = installFixture("tone", pluginsDir);
  // keep-alive 0: every request's worker ends after it, so each swap starts and ends workers
  server = await startServer({ pluginDirs: [pluginsDir], env: { CHORUS_SCHEDULER__KEEP_ALIVE_SECONDS: "0" } });
});
afterAll(async () => {
  await server?.stop();
});

describe("hot swaps leave no zombie processes", () => {
  it("20 version edits, each serving, leave 0 zombies", async () => {
    await waitFor(async () => (await speak(server, { engine: "tone", text: "one" })).status === 200, 10_000, "the tone plugin to serve");
    for (let i = 1; i <= 20; i++) {
      const version = `1.${i}.0`;
      const manifestFile = path.join(toneDir, "plugin.json");
      fs.writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifestFile, "utf8")), version }, null, 2));
      await waitFor(async () => (await engine(server, "tone"))?.version === version, 10_000, `version ${version}`);
      expect((await speak(server, { engine: "tone", text: "one two" })).status).toBe(200);
    }
    // the last worker has ended (keep-alive 0); what it started must have been reaped
    await waitFor(
      async () => ((await (await fetch(`${server.url}/api/scheduler`)).json()) as { engines: unknown[] }).engines.length === 0,
      10_000,
      "the engine to unload",
    );
    expect(zombiesOf(server.child.pid!)).toEqual([]);
  });
});
