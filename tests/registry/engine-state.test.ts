/** The one rule for an engine's state (core/registry/engine-state.ts), as /api/engines, the dashboard and `chorus engines` show it. */
import { describe, expect, it } from "vitest";
import { engineState } from "../../core/registry/engine-state.ts";

const setup = { state: "missing" as const, reason: "no environment yet", command: "chorus plugin setup x" };

describe("engineState", () => {
  it.each([
    ["failed", { status: "failed" }, undefined, false, "failed"],
    ["failed, even if loaded", { status: "failed" }, undefined, true, "failed"],
    ["needs setup", { status: "available" }, setup, false, "needs setup"],
    ["needs setup wins over loaded", { status: "available" }, setup, true, "needs setup"],
    ["loaded", { status: "available" }, undefined, true, "loaded"],
    ["available", { status: "available" }, undefined, false, "available"],
  ] as const)("%s", (_name, entry, needs, loaded, expected) => {
    expect(engineState(entry, needs, loaded)).toBe(expected);
  });
});
