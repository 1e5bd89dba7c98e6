/**
 * Optional Python modules: a placement profile may `require` modules (e.g. `deepspeed` for a
 * DeepSpeed profile) that are not part of the plugin's requirements. `chorus plugin setup`
 * checks which of them import in the plugin's environment and records it; the scheduler offers
 * such a profile only where the record says they do.
 */
import { spawn } from "node:child_process";
import type { Manifest, PlacementProfile } from "../../packages/sdk/src/index.ts";

/** Every module some profile of `manifest` requires. */
export function requiredModules(manifest: Manifest): string[] {
  return [...new Set(manifest.resources.profiles.flatMap((p) => p.requires ?? []))].sort();
}

/** Which of `names` import (are found) with `python`. Never throws: a failed probe says none do. */
export function probeModules(python: string, names: string[]): Promise<Record<string, boolean>> {
  if (!names.length) return Promise.resolve({});
  const code = "import importlib.util, json, sys\nprint(json.dumps({n: importlib.util.find_spec(n) is not None for n in sys.argv[1:]}))";
  return new Promise((resolve) => {
    const none = Object.fromEntries(names.map((n) => [n, false]));
    const child = spawn(python, ["-c", code, ...names], { stdio: ["ignore", "pipe", "ignore"], timeout: 60_000 });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", () => resolve(none));
    child.on("close", () => {
      try {
        resolve({ ...none, ...(JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Record<string, boolean>) });
      } catch {
        resolve(none);
      }
    });
  });
}

/** A profile is offered when every module it requires was recorded as importable. */
export function profileOffered(profile: PlacementProfile, modules: Record<string, boolean> | undefined): boolean {
  return (profile.requires ?? []).every((m) => modules?.[m] === true);
}
