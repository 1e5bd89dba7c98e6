/** The default-engine selection: validation, persistence, and following edits of the state file. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { until } from "../helpers/wait.ts";
import type { EngineEntry } from "../../core/registry/plugin-folder.ts";
import { EngineSelection } from "../../core/registry/selection.ts";
import { ManifestSchema } from "../../core/registry/manifest-schema.ts";
import { tempDir } from "./helpers.ts";

const manifest = (id: string) => ManifestSchema.parse({ id, name: id, version: "1.0.0", entry: "index.ts" });
const entries: Record<string, EngineEntry> = {
  espeak: { id: "espeak", dir: "/x/espeak", generation: 1, status: "available", manifest: manifest("espeak"), settings: {} },
  flite: { id: "flite", dir: "/x/flite", generation: 2, status: "available", manifest: manifest("flite"), settings: {} },
  broken: { id: "broken", dir: "/x/broken", generation: 3, status: "failed", error: "no plugin.json" },
};
const selection = (file: string) => new EngineSelection(file, "espeak", (id) => entries[id]);

describe("EngineSelection", () => {
  it("starts from the configured default and persists a choice atomically", () => {
    const file = path.join(tempDir("sel"), "nested", "state.json");
    const a = selection(file);
    expect(a.current()).toBe("espeak");
    expect(a.set("flite")).toEqual({ default: "flite", previous: "espeak" });
    expect(a.current()).toBe("flite");
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toMatchObject({ defaultEngine: "flite", changedAt: expect.any(String) });
    expect(fs.readdirSync(path.dirname(file))).toEqual(["state.json"]);
    expect(selection(file).current()).toBe("flite"); // a restart reads it back
  });

  it("refuses unknown and failed engines, leaving the choice as it was", () => {
    const a = selection(path.join(tempDir("sel"), "state.json"));
    expect(() => a.set("nope")).toThrow(expect.objectContaining({ code: "CHORUS_ERR_ENGINE_NOT_FOUND", statusCode: 404 }));
    expect(() => a.set("broken")).toThrow(expect.objectContaining({ code: "CHORUS_ERR_ENGINE_UNAVAILABLE", statusCode: 503 }));
    expect(a.current()).toBe("espeak");
  });

  it("follows the file when another process (chorus use) changes it, and survives a corrupt one", async () => {
    const file = path.join(tempDir("sel"), "state.json");
    const server = selection(file);
    expect(server.current()).toBe("espeak");
    const other = selection(file);
    other.set("flite");
    other.close();
    await until(() => server.current() === "flite", "the watched file's new choice");
    fs.writeFileSync(file, "{ not json");
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    await until(() => server.current() === "espeak", "the configured default after a corrupt file");
    server.close();
  });

  it("reads the file once, not on every call (the watch tells it of changes)", () => {
    const file = path.join(tempDir("sel"), "state.json");
    const a = selection(file);
    a.set("flite");
    const stat = vi.spyOn(fs, "statSync");
    try {
      for (let i = 0; i < 5; i++) expect(a.current()).toBe("flite");
      expect(stat.mock.calls.filter(([p]) => p === file)).toHaveLength(1); // the read after set(); the rest from the cache
    } finally {
      stat.mockRestore();
      a.close();
    }
  });

  it("falls back to the configured default while the chosen engine's plugin is gone", () => {
    const file = path.join(tempDir("sel"), "state.json");
    const installed: Record<string, EngineEntry> = { ...entries };
    const a = new EngineSelection(file, "espeak", (id) => installed[id]);
    a.set("flite");
    delete installed.flite; // the plugin folder was removed
    expect(a.current()).toBe("espeak");
    installed.flite = entries.flite!; // and put back
    expect(a.current()).toBe("flite");
  });
});
