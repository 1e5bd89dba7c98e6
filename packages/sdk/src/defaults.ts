/**
 * A `plugin.json` as written (most fields optional) -> the Manifest the host hands to plugins
 * (defaults applied). The host validates manifests fully (plugin.schema.json); this is for the
 * test harness, which runs a plugin without the host. The host's tests check both agree.
 */
import type { Capabilities, Manifest, OptionSpec, PlacementProfile, Timeouts } from "./manifest.ts";

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v && typeof v === "object" && !Array.isArray(v) ? (v as Raw) : {});

function profile(raw: unknown): PlacementProfile {
  const p = obj(raw);
  return {
    name: String(p.name ?? "cpu"),
    device: p.device === "cuda" ? "cuda" : "cpu",
    precision: (p.precision as PlacementProfile["precision"]) ?? "fp32",
    vramMb: (p.vramMb as number) ?? 0,
    transientVramMb: (p.transientVramMb as number) ?? 0,
    ramMb: (p.ramMb as number) ?? 0,
    loadSeconds: (p.loadSeconds as number) ?? 1,
    maxParallel: (p.maxParallel as number) ?? 1,
    parallelism: p.parallelism === "replicas" ? "replicas" : "shared",
    ...(Array.isArray(p.requires) ? { requires: p.requires.map(String) } : {}),
  };
}

function option(raw: unknown): OptionSpec {
  const o = obj(raw);
  const description = (o.description as string) ?? "";
  if (o.type === "number") return { ...(o as object), type: "number", description, integer: (o.integer as boolean) ?? false } as OptionSpec;
  if (o.type === "boolean") return { ...(o as object), type: "boolean", description } as OptionSpec;
  return { ...(o as object), type: "string", description, maxLength: (o.maxLength as number) ?? 1000 } as OptionSpec;
}

export function manifestWithDefaults(input: unknown): Manifest {
  const m = obj(input);
  for (const key of ["id", "name", "version", "entry"]) {
    if (typeof m[key] !== "string" || !m[key]) throw new TypeError(`plugin.json: '${key}' is required`);
  }
  const caps = obj(m.capabilities);
  const capabilities: Capabilities = {
    streaming: (caps.streaming as boolean) ?? false,
    speed: (caps.speed as boolean) ?? false,
    pitch: (caps.pitch as boolean) ?? false,
    voiceCloning: (caps.voiceCloning as boolean) ?? false,
    sampleRates: (caps.sampleRates as number[]) ?? [],
    sentenceSplitting: caps.sentenceSplitting === "engine" ? "engine" : "host",
    ...(Array.isArray(caps.speedRange) ? { speedRange: caps.speedRange as [number, number] } : {}),
    ...(Array.isArray(caps.pitchRange) ? { pitchRange: caps.pitchRange as [number, number] } : {}),
  };
  const resources = obj(m.resources);
  const profiles = Array.isArray(resources.profiles) ? resources.profiles.map(profile) : [profile({ name: "cpu", device: "cpu" })];
  const timeouts = obj(m.timeouts);
  const aliases = obj(obj(m.aliases).openai);
  const manifest: Manifest = {
    ...(m as object),
    id: m.id as string,
    name: m.name as string,
    version: m.version as string,
    description: (m.description as string) ?? "",
    sdk: (m.sdk as string) ?? "^1.0.0",
    entry: m.entry as string,
    runtime: m.runtime === "python" ? "python" : "node",
    isolation: m.isolation === "process" ? "process" : "worker",
    languages: (m.languages as string[]) ?? [],
    capabilities,
    resources: { profiles, fallbacks: (resources.fallbacks as string[]) ?? [] },
    options: Object.fromEntries(Object.entries(obj(m.options)).map(([k, v]) => [k, option(v)])),
    timeouts: { loadSeconds: (timeouts.loadSeconds as number) ?? 120, chunkSeconds: (timeouts.chunkSeconds as number) ?? 120 } satisfies Timeouts,
    commands: (Array.isArray(m.commands) ? m.commands : []).map((c) => ({ usage: "", description: "", ...obj(c) }) as Manifest["commands"][number]),
    aliases: { openai: { voices: (obj(aliases.voices) as Manifest["aliases"]["openai"]["voices"]) ?? {}, models: (aliases.models as string[]) ?? [] } },
  };
  return manifest;
}

/**
 * Settings with the top-level `default`s of the manifest's `settings` schema applied; unknown
 * keys refused when the schema says `additionalProperties: false`. (The host validates the
 * whole schema; this covers what a plugin's own tests need.)
 */
export function settingsWithDefaults(manifest: Manifest, settings: Record<string, unknown> = {}): Record<string, unknown> {
  const schema = manifest.settings;
  if (!schema) return { ...settings };
  const properties = obj(schema.properties);
  if (schema.additionalProperties === false) {
    for (const key of Object.keys(settings)) {
      if (!Object.hasOwn(properties, key))
        throw new TypeError(`engines.settings.${manifest.id}.${key}: unknown setting (known: ${Object.keys(properties).join(", ") || "none"})`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(properties)) {
    const d = obj(prop).default;
    if (d !== undefined) out[key] = structuredClone(d);
  }
  return { ...out, ...settings };
}
