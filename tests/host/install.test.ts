/**
 * What `npm ci` leaves must be enough: no install script of a dependency is needed (they are
 * denied in package.json's allowScripts; npm 12 blocks unlisted ones), no unknown npm config,
 * and every locked dependency supports the Node versions package.json's `engines` claims.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import semver from "semver";
import { ensureExecutable, ffmpegPath } from "../../core/audio/encoders/ffmpeg.ts";
import { tempDir } from "../helpers/temp.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
  allowScripts: Record<string, boolean>;
  overrides?: Record<string, unknown>;
};
type Locked = { version?: string; dev?: boolean; optional?: boolean; hasInstallScript?: boolean; engines?: Record<string, string> | string[] };
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, Locked> };
const name = (key: string) => key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);

describe("installation", () => {
  it("supports Node 20.19 and later (22, 24)", () => {
    expect(pkg.engines.node).toBe(">=20.19");
    for (const v of ["20.19.0", "22.0.0", "24.0.0"]) expect(semver.satisfies(v, pkg.engines.node), v).toBe(true);
  });

  it("locks no dependency whose engines exclude a supported Node (cookie@2 wants 22: pinned to 1.x)", () => {
    const bad: string[] = [];
    for (const [key, entry] of Object.entries(lock.packages)) {
      const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
      if (!key || !range) continue;
      // Run-time dependencies: every version `engines` admits. Dev tools (vitest's optional
      // wasm bindings) want 22.13+ on the 22 line, which CI's Node 22 is.
      const versions = entry.dev ? ["20.19.0", "22.13.0", "24.0.0"] : ["20.19.0", "22.0.0", "24.0.0"];
      for (const v of versions) if (!semver.satisfies(v, range)) bad.push(`${name(key)}@${entry.version} needs node ${range} (${v})`);
    }
    expect(bad).toEqual([]);
  });

  it("has an allowScripts decision for every dependency with an install script, and needs none of them", () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([key, e]) => key && e.hasInstallScript)
      .map(([key]) => name(key));
    expect(withScripts.length).toBeGreaterThan(0);
    for (const n of withScripts) expect(pkg.allowScripts[n], `${n} has no allowScripts entry`).toBe(false);
  });

  it("has no .npmrc with settings npm does not know (onnxruntime-node-install)", () => {
    const npmrc = path.join(ROOT, ".npmrc");
    const text = fs.existsSync(npmrc) ? fs.readFileSync(npmrc, "utf8") : "";
    expect(text).not.toMatch(/onnxruntime/);
  });

  it("finds the ffmpeg binary executable after npm ci (no postinstall chmod needed)", () => {
    const require = createRequire(import.meta.url);
    const shipped = (require("@ffmpeg-installer/ffmpeg") as { path: string }).path;
    expect(() => fs.accessSync(shipped, fs.constants.X_OK)).not.toThrow();
    expect(ffmpegPath()).toBeTruthy();
  });

  it("makes a binary executable at run time when its mode lost the x bit", () => {
    const file = path.join(tempDir("exec"), "tool");
    fs.writeFileSync(file, "#!/bin/sh\n", { mode: 0o644 });
    expect(() => fs.accessSync(file, fs.constants.X_OK)).toThrow();
    expect(ensureExecutable(file)).toBe(file);
    expect(() => fs.accessSync(file, fs.constants.X_OK)).not.toThrow();
  });

  it("CI runs the README's command, then the suite on pinned Node 22 and 24 from the npm registry", () => {
    const run = fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8");
    expect(run).toContain('"npm ci && npm test"');
    expect(run).toMatch(/for major in \$\{CI_NODE_MAJORS-22 24\}/);
    const pins = /export const PINNED = (\{[^}]*\})/.exec(fs.readFileSync(path.join(ROOT, ".ci/node.mjs"), "utf8"))?.[1];
    const PINNED = JSON.parse(pins!.replace(/(\d+):/g, '"$1":')) as Record<string, string>;
    expect(Object.keys(PINNED)).toEqual(["22", "24"]);
    for (const [major, version] of Object.entries(PINNED)) expect(version.startsWith(`${major}.`)).toBe(true);
  });

  it("loads onnxruntime-node without its install script (the CPU provider is in the package)", async () => {
    const ort = (await import("onnxruntime-node")) as { InferenceSession?: unknown };
    expect(typeof ort.InferenceSession).toBe("function");
  });
});
