/** Units of the xtts-api-server surface: engine choice, speaker_wav, field coercion, option names, confinement. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Registry } from "../../core/registry/registry.ts";
import { ManifestSchema, type Manifest } from "../../core/registry/manifest-schema.ts";
import { ValidationFailed } from "../../core/server/xtts-api/errors.ts";
import { cleanText, defaultSettings, parseModel, parseSettings } from "../../core/server/xtts-api/fields.ts";
import { confine, isInside } from "../../core/server/xtts-api/folders.ts";
import { createState, engineOptions, resolveSpeaker, servingEngine } from "../../core/server/xtts-api/target.ts";
import { testConfig } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";

const manifest = (id: string, extra: Record<string, unknown> = {}): Manifest =>
  ManifestSchema.parse({ id, name: id, version: "1.0.0", entry: "index.ts", ...extra });

/** A registry with these engines (a manifest, or undefined for one that cannot run now). */
function registryOf(engines: Record<string, Manifest | undefined>, current = "espeak"): Registry {
  return {
    list: () => Object.keys(engines).map((id) => ({ id })),
    get: (id: string) => (id in engines ? { id, status: engines[id] ? "available" : "failed" } : undefined),
    manifest: (id: string) => engines[id],
    selection: { current: () => current },
  } as unknown as Registry;
}

describe("servingEngine", () => {
  const cloning = { capabilities: { voiceCloning: true } };
  it("switch_model's engine, then compat.xttsApi.engine, then a cloning engine (xtts first), then the default", () => {
    const config = testConfig();
    const state = createState(config);
    const all = { espeak: manifest("espeak"), aaa: manifest("aaa", cloning), xtts: manifest("xtts", cloning) };
    expect(servingEngine(state, registryOf(all), config)).toBe("xtts");
    expect(servingEngine(state, registryOf({ espeak: manifest("espeak"), zed: manifest("zed", cloning), aaa: manifest("aaa", cloning) }), config)).toBe("aaa");
    // xtts that cannot run now (failed, or waiting for `chorus plugin setup`) is passed over.
    expect(servingEngine(state, registryOf({ espeak: manifest("espeak"), xtts: undefined }), config)).toBe("espeak");
    expect(servingEngine(state, registryOf({ espeak: manifest("espeak") }, "flite"), config)).toBe("flite");
    const named = testConfig({ compat: { xttsApi: { engine: "espeak" } } });
    expect(servingEngine(createState(named), registryOf(all), named)).toBe("espeak");
    expect(servingEngine({ ...state, engine: "aaa" }, registryOf(all), named)).toBe("aaa");
  });
});

describe("resolveSpeaker", () => {
  const config = testConfig({ compat: { xttsApi: { speakerFolder: "/srv/speakers" } } });
  const state = createState(config);
  const registry = registryOf({ espeak: manifest("espeak"), flite: manifest("flite") });
  it.each([
    ["en-us", "espeak", "en-us"],
    ["flite:slt", "flite", "slt"],
    ["flite:slt.wav", "flite", "slt"],
    ["female.wav", "espeak", "female"],
    ["calm/a.wav", "espeak", "calm"],
    ["/srv/speakers/male.wav", "espeak", "male"],
    ["unknown:thing", "espeak", "unknown:thing"],
    ["flite:", "flite", undefined],
  ] as [string, string, string | undefined][])("%s -> %s %s", (value, engine, voice) => {
    expect(resolveSpeaker(value, state, registry, config)).toEqual({ engine, voice });
  });
  it.each(["/etc/x.wav", "../x.wav", "/srv/speakers/../x.wav", "/srv/speakers2/x.wav", ""])("%s is refused", (value) => {
    expect(() => resolveSpeaker(value, state, registry, config)).toThrow(/speaker_wav/);
  });
});

describe("fields", () => {
  it("coerces as pydantic's lax mode", () => {
    expect(parseModel({ a: "0.5", b: "7", c: "yes", d: "x", extra: 1 }, { a: "float", b: "int", c: "bool", d: "str" } as const, "body")).toEqual({
      a: 0.5,
      b: 7,
      c: true,
      d: "x",
    });
    expect(parseModel({ a: 2, b: 3.0, c: 0 }, { a: "float", b: "int", c: "bool" } as const, "body")).toEqual({ a: 2, b: 3, c: false });
    for (const bad of [{ b: "7.5" }, { b: 7.5 }, { b: true }, { b: "" }])
      expect(() => parseModel(bad, { b: "int" } as const, "body")).toThrow(ValidationFailed);
    expect(() => parseModel({ a: true }, { a: "float" } as const, "body")).toThrow(ValidationFailed);
    expect(() => parseModel({ c: "maybe" }, { c: "bool" } as const, "body")).toThrow(ValidationFailed);
    expect(() => parseModel({ s: 5 }, { s: "str" } as const, "body")).toThrow(ValidationFailed);
    expect(() => parseModel([1], { s: "str" } as const, "body")).toThrow(/valid dictionary/);
    expect(parseModel({ s: ["a", "b"] }, { s: "str" } as const, "query")).toEqual({ s: "b" });
  });

  it("settings: boundaries are inside the ranges", () => {
    const edge = {
      temperature: 0.01,
      speed: 2,
      length_penalty: -3,
      repetition_penalty: 10,
      top_p: 1,
      top_k: 100,
      enable_text_splitting: "false",
      stream_chunk_size: 20,
    };
    expect(parseSettings(edge)).toMatchObject({ temperature: 0.01, top_k: 100, enable_text_splitting: false, length_penalty: -3 });
  });

  it("cleanText as xtts-api-server's clean_text", () => {
    expect(cleanText('*smiles* "Hi!"\r\nBye')).toBe(" smiles  'Hi!'  Bye");
  });
});

describe("engineOptions", () => {
  it("sends only declared options, matching snake_case, camelCase and kebab names", () => {
    const m = manifest("e", {
      capabilities: { speed: true },
      options: { topK: { type: "number" }, repetition_penalty: { type: "number" }, language: { type: "string" } },
    });
    expect(engineOptions(m, defaultSettings(), { language: "de", streaming: false })).toEqual({ topK: 50, repetition_penalty: 5, language: "de" });
    expect(engineOptions(manifest("espeak"), defaultSettings(), { language: "en", model: "x", streaming: true })).toEqual({});
  });
});

describe("confinement", () => {
  it("isInside is by path segment, not by prefix", () => {
    expect(isInside("/a/b", "/a/b")).toBe(true);
    expect(isInside("/a/b", "/a/b/c")).toBe(true);
    expect(isInside("/a/b", "/a/bc")).toBe(false);
    expect(isInside("/a/b", "/a")).toBe(false);
  });

  it("confine follows symlinks, including in folders that do not exist yet", async () => {
    const root = tempDir("xtts-confine");
    const outside = tempDir("xtts-confine-out");
    fs.symlinkSync(outside, path.join(root, "link"));
    await expect(confine(root, root, "new/dir/x.wav", "f")).resolves.toBe(path.join(root, "new/dir/x.wav"));
    await expect(confine(root, root, "link/new/x.wav", "f")).rejects.toThrow(/outside/);
    await expect(confine(root, root, "a\0b", "f")).rejects.toThrow(/invalid/);
  });
});
