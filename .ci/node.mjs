#!/usr/bin/env node
// Prints the path of a pinned Node.js binary for CI (`node .ci/node.mjs 22`), installing it
// first when missing: the official binary as published on the npm registry in the platform
// package `node-<os>-<arch>` (what the `node` package's install script would fetch; taking it
// directly needs no install script). Kept in var/node/<version>/. Exit code 3 when it is not
// installed and cannot be (offline): the caller skips that version.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The Node versions CI runs the suite on besides the one on PATH (bump together with the README). */
export const PINNED = { 22: "22.23.5", 24: "24.22.3" };

function main() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const major = process.argv[2];
  const version = PINNED[major];
  if (!version) {
    process.stderr.write(`usage: node .ci/node.mjs ${Object.keys(PINNED).join("|")}\n`);
    process.exit(2);
  }
  const platform = process.platform === "win32" ? "win" : process.platform;
  const pkg = `node-${platform}-${process.arch}`;
  const prefix = path.join(root, "var", "node", version);
  const bin = path.join(prefix, "node_modules", pkg, "bin", process.platform === "win32" ? "node.exe" : "node");

  const works = () => {
    try {
      return execFileSync(bin, ["--version"], { encoding: "utf8" }).trim() === `v${version}`;
    } catch {
      return false;
    }
  };

  if (!works()) {
    fs.mkdirSync(prefix, { recursive: true });
    try {
      // --ignore-scripts: the package is the binary itself; nothing needs to run.
      execFileSync("npm", ["install", "--no-save", "--no-package-lock", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", prefix, `${pkg}@${version}`], { stdio: ["ignore", "ignore", "inherit"] });
    } catch (err) {
      process.stderr.write(`cannot install Node ${version} (${pkg}) from the npm registry: ${err.message}\n`);
      process.exit(3);
    }
    if (!works()) {
      process.stderr.write(`installed ${pkg}@${version} but ${bin} does not run\n`);
      process.exit(3);
    }
  }
  process.stdout.write(`${bin}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
