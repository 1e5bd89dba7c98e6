/**
 * A plugin outside the repository, as a third party writes it: its own folder and
 * package.json depending on the SDK package (a packed tarball of packages/sdk), TypeScript by
 * its own tsc and tsconfig, its own tests (node:test + the SDK's harness). Then a running
 * Chorus that lists its parent folder in `engines.dirs` serves it, and runs the CLI command it
 * contributes, from a working directory outside the repository. Installs are offline: the SDK
 * from the tarball, typescript and @types/node by path from this checkout.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runChorusAsync, startServer, type RunningServer } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FIXTURE = path.join(ROOT, "tests/fixtures/external-plugin");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

const work = tempDir("external");
const plugins = path.join(work, "plugins");
const plugin = path.join(plugins, "ext-tone");
const env = { CHORUS_ENGINES__DIRS: JSON.stringify([plugins]), CHORUS_DATA_DIR: path.join(work, "data"), CHORUS_LOG__LEVEL: "warn" };

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, npm_config_offline: "true", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" },
  });
  return { status: result.status, stdout: result.stdout, out: `${result.stdout}\n${result.stderr}` };
}

beforeAll(() => {
  expect(path.relative(ROOT, work).startsWith("..")).toBe(true); // really outside the repository
  fs.cpSync(FIXTURE, plugin, { recursive: true });
  // The SDK as a published package: `npm pack` of packages/sdk (its dist/ is built by `prepare`/`pretest`).
  const packed = run(NPM, ["pack", "--pack-destination", work, "--json"], path.join(ROOT, "packages/sdk"));
  expect(packed.status, packed.out).toBe(0);
  const tarball = path.join(work, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
  const manifest = fs
    .readFileSync(path.join(plugin, "package.json"), "utf8")
    .replace("SDK_DEPENDENCY", `file:${tarball}`)
    .replace("TYPES_NODE_DEPENDENCY", `file:${path.join(ROOT, "node_modules/@types/node")}`)
    .replace("TYPESCRIPT_DEPENDENCY", `file:${path.join(ROOT, "node_modules/typescript")}`);
  fs.writeFileSync(path.join(plugin, "package.json"), manifest);
  const installed = run(NPM, ["install", "--ignore-scripts", "--no-package-lock"], plugin);
  expect(installed.status, installed.out).toBe(0);
}, 120_000);

describe("a plugin outside the repository", () => {
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it("has the SDK package with its types and schema, not this checkout's sources", () => {
    const sdk = path.join(plugin, "node_modules/@chorus-tts/sdk");
    expect(fs.lstatSync(sdk).isSymbolicLink()).toBe(false); // unpacked from the tarball
    for (const file of ["dist/index.js", "dist/index.d.ts", "dist/harness.d.ts", "plugin.schema.json"])
      expect(fs.existsSync(path.join(sdk, file)), file).toBe(true);
  });

  it("type-checks with its own tsc and passes its own tests with the SDK's harness", () => {
    const typed = run(path.join(plugin, "node_modules/.bin/tsc"), ["-p", ".", "--noEmit"], plugin);
    expect(typed.status, typed.out).toBe(0);
    const tested = run(NPM, ["test"], plugin);
    expect(tested.status, tested.out).toBe(0);
    expect(tested.out).toMatch(/# pass 4/);
    expect(tested.out).toMatch(/# fail 0/);
  }, 120_000);

  it("serves through a running Chorus that lists its folder in engines.dirs", async () => {
    expect(fs.existsSync(path.join(plugin, "dist/index.js"))).toBe(true); // built by its own tsc above
    server = await startServer(env);
    const engines = (await (await fetch(`${server.url}/api/engines`)).json()) as { engines: { id: string; state: string }[] };
    expect(engines.engines.find((e) => e.id === "ext-tone")).toMatchObject({ state: "available" });
    const res = await fetch(`${server.url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "one two three", engine: "ext-tone" }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("x-chorus-engine")).toBe("ext-tone");
    const wav = Buffer.from(await res.arrayBuffer());
    expect(wav.subarray(0, 4).toString()).toBe("RIFF");
    expect(wav.length).toBeGreaterThan(3 * 0.15 * 16000 * 2); // three words of 0.15 s
    // Loaded now: GET /api/engines asks the engine itself how it is (Engine.health, default ok).
    const after = (await (await fetch(`${server.url}/api/engines`)).json()) as { engines: { id: string; state: string; health: unknown }[] };
    expect(after.engines.find((e) => e.id === "ext-tone")).toMatchObject({ state: "loaded", health: [{ profile: "cpu", ok: true }] });
  }, 60_000);

  it("contributes a CLI command that runs from a folder outside the repository", async () => {
    const result = await runChorusAsync(["tone-hello", "World"], { env, cwd: work });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe("hello World from ext-tone (toneHz 330)\n");
    const checked = await runChorusAsync(["plugin", "check", plugin], { env, cwd: work });
    expect(checked.status, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/ext-tone: all checks passed/);
  }, 60_000);
});
