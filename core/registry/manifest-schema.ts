/**
 * The plugin manifest (`plugin.json`) as the host validates it (zod): what an engine is and
 * what it needs, readable without running any of its code. The host lists, validates and
 * schedules engines from manifests alone; code is imported only when an engine is first used.
 * The SDK declares the same shape as plain types (`Manifest`), and ships the JSON Schema
 * generated from this one (json-schema.ts); the type check at the end keeps the two equal.
 */
import semver from "semver";
import { z } from "zod";
import { BadOptionError, validateOptions, type Manifest as SdkManifest } from "../../packages/sdk/src/index.ts";
import { checkSpecifier } from "../python/specifier.ts";

const id = z.string().regex(/^[a-z][a-z0-9-]{0,47}$/, "lowercase letters, digits and '-', starting with a letter");

/**
 * One way to run an engine: on which device, at which precision, and what memory it holds.
 * `vramMb` is resident for as long as the engine is loaded; `transientVramMb` is needed only
 * while one request runs (held as a token per request, released after).
 */
export const PlacementProfileSchema = z.strictObject({
  name: id.describe("profile name, e.g. gpu-fp16, lowvram, cpu"),
  device: z.enum(["cpu", "cuda"]),
  precision: z.enum(["fp32", "fp16", "bf16", "int8", "mixed"]).default("fp32"),
  vramMb: z.number().nonnegative().default(0),
  transientVramMb: z.number().nonnegative().default(0),
  ramMb: z.number().nonnegative().default(0),
  loadSeconds: z.number().nonnegative().default(1),
  maxParallel: z.number().int().positive().default(1),
  parallelism: z
    .enum(["shared", "replicas"])
    .default("shared")
    .describe(
      "shared: one worker serves maxParallel requests at once (the engine overlaps them itself); replicas (CPU profiles only): synthesize blocks its thread, so the host runs up to maxParallel copies of the engine, one request each, as many as engines.cpuReplicas allows, each holding ramMb",
    ),
  requires: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, "a Python module name"))
    .optional()
    .describe(
      "Python modules this profile needs in the plugin's environment (e.g. deepspeed): the profile is offered only where they import, as chorus plugin setup records",
    ),
});
export type PlacementProfile = z.infer<typeof PlacementProfileSchema>;

/**
 * A fallback target: `engine` (its first profile) or `engine:profile`. The scheduler walks
 * the engine's own profiles in order, then these.
 */
export const FallbackSchema = z.string().regex(/^[a-z][a-z0-9-]{0,47}(:[a-z][a-z0-9-]{0,47})?$/, "engine or engine:profile");

export const ResourcesSchema = z.strictObject({
  profiles: z
    .array(PlacementProfileSchema)
    .min(1)
    .superRefine((profiles, ctx) => {
      profiles.forEach((p, i) => {
        // The runtime and the fallbacks (`engine:profile`) find a profile by its name.
        if (profiles.findIndex((q) => q.name === p.name) < i)
          ctx.addIssue({ code: "custom", path: [i, "name"], message: `duplicate profile name '${p.name}' (each profile needs its own)` });
        if (p.parallelism === "replicas" && p.device !== "cpu")
          ctx.addIssue({ code: "custom", path: [i, "parallelism"], message: `"replicas" is for CPU profiles (this one runs on ${p.device})` });
      });
    }),
  fallbacks: z.array(FallbackSchema).default([]),
});
export type Resources = z.infer<typeof ResourcesSchema>;

/** `[min, max]` of factors; min above max would clamp every request to max. */
const factorRange = z
  .tuple([z.number().positive(), z.number().positive()])
  .refine(([min, max]) => min <= max, "[min, max]: the first (min) must not be larger than the second (max)");

export const CapabilitiesSchema = z.strictObject({
  /** The engine yields audio in several chunks (per sentence or finer) as it makes them. */
  streaming: z.boolean().default(false),
  /** The engine honours `speed` (a rate factor, 1 = natural). Without it the host sends 1 and says so. */
  speed: z.boolean().default(false),
  /** The engine honours `pitch` (a frequency factor, 1 = natural). Without it the host sends 1 and says so. */
  pitch: z.boolean().default(false),
  /** Speed factors the engine can realise, [min, max]; the host clamps requests to it. Default: 0.25-4. */
  speedRange: factorRange.optional(),
  /** Pitch factors the engine can realise, [min, max]; the host clamps requests to it. Default: 0.25-4. */
  pitchRange: factorRange.optional(),
  voiceCloning: z.boolean().default(false),
  /** Sample rates the engine can produce (the actual one travels with every chunk). */
  sampleRates: z.array(z.number().int().min(1000).max(384_000)).default([]), // the rates a chunk may carry (docs/protocol.md)
  /**
   * Who splits text into sentences: `host` (the pipeline calls synthesize once per sentence)
   * or `engine` (the engine gets the whole text and splits it its own way, e.g. Piper).
   */
  sentenceSplitting: z.enum(["host", "engine"]).default("host"),
});
export type Capabilities = z.infer<typeof CapabilitiesSchema>;

/** One engine-specific option a request may set (`options.NAME`). */
export const OptionSpecSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("number"),
    description: z.string().default(""),
    default: z.number().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    integer: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal("boolean"),
    description: z.string().default(""),
    default: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal("string"),
    description: z.string().default(""),
    default: z.string().optional(),
    enum: z.array(z.string()).optional(),
    maxLength: z.number().int().positive().default(1000),
  }),
]);
export type OptionSpec = z.infer<typeof OptionSpecSchema>;

/**
 * Each option's `default` must pass the option's own check (the host hands it to the engine
 * unchecked when a request leaves the option out), and a number's `min` must not exceed `max`.
 */
function checkOptionSpecs(options: Record<string, OptionSpec>, ctx: z.RefinementCtx): void {
  for (const [name, spec] of Object.entries(options)) {
    if (spec.type === "number" && spec.min !== undefined && spec.max !== undefined && spec.min > spec.max)
      ctx.addIssue({ code: "custom", path: [name, "max"], message: `must not be below min (${spec.min}), got ${spec.max}` });
    if (spec.default === undefined) continue;
    try {
      validateOptions({ id: "", options: { [name]: spec } }, { [name]: spec.default });
    } catch (err) {
      if (!(err instanceof BadOptionError)) throw err;
      ctx.addIssue({ code: "custom", path: [name, "default"], message: err.message.replace(`options.${name}: `, "") });
    }
  }
}

/**
 * How long the host waits on the engine before it gives up on a call. A call past its limit
 * fails with a timeout; an engine whose worker no longer answers at all is restarted.
 */
export const TimeoutsSchema = z.strictObject({
  /** Seconds `load` may take (models loading, warm-up). */
  loadSeconds: z.number().positive().max(3600).default(120),
  /** Seconds a synthesis may go without yielding a chunk (and `listVoices`/`health` may take). */
  chunkSeconds: z.number().positive().max(3600).default(120),
});
export type Timeouts = z.infer<typeof TimeoutsSchema>;

/**
 * A `chorus` subcommand the plugin adds (see command.ts): one word (`phonemize`) or two
 * (`voices install`). `module` (relative to the plugin folder) default-exports
 * `defineCommand(...)`; `usage` is the arguments part of its help line.
 */
export const CommandSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,31}( [a-z][a-z0-9-]{0,31})?$/, "one or two lowercase words, e.g. 'phonemize' or 'voices install'"),
  module: z.string().min(1),
  usage: z.string().default(""),
  description: z.string().default(""),
});
export type CommandSpec = z.infer<typeof CommandSpecSchema>;

/**
 * The torch build a Python engine wants. `build`: `auto` (a CUDA build where an NVIDIA GPU is
 * seen, else CPU), `cpu` or `cuda`; `cuda` names the CUDA wheel index used for CUDA builds
 * (cu118, cu121, cu126, cu128, ...); `version` is a pip version specifier for `packages`.
 */
export const TorchSchema = z.strictObject({
  build: z.enum(["auto", "cpu", "cuda"]).default("auto"),
  cuda: z
    .string()
    .regex(/^cu\d{3}$/, "a CUDA wheel tag such as cu128")
    .default("cu128"),
  version: z
    .string()
    .regex(/^[\s0-9a-zA-Z.*+!<>=~,]*$/, "a pip version specifier such as '>=2.1,<2.9'")
    .default(""),
  packages: z
    .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/))
    .min(1)
    .default(["torch"]),
});
export type TorchSpec = z.infer<typeof TorchSchema>;

/**
 * The environment of a Python engine (runtime `python`): one virtual environment per plugin,
 * built by `chorus plugin setup ID` in the data folder. `requirements`: a requirements file in
 * the plugin folder, or a list of pip requirement lines; `version`: the Python versions the
 * engine runs on (a specifier such as `>=3.10,<3.14`); `torch`: when the engine needs torch.
 */
export const PythonSchema = z.strictObject({
  version: z
    .string()
    .regex(/^[\s0-9.*<>=!~,]*$/, "a version specifier such as '>=3.10,<3.14'")
    .superRefine((spec, ctx) => {
      try {
        checkSpecifier(spec); // each clause needs its operator: '3.11' is '==3.11.*' or '~=3.11'
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `${(err as Error).message}; write e.g. '>=3.10,<3.14', '~=3.11' or '==3.11.*'` });
      }
    })
    .default(">=3.9"),
  requirements: z.union([z.string().min(1), z.array(z.string().min(1))]).default([]),
  torch: TorchSchema.optional(),
});
export type PythonSpec = z.infer<typeof PythonSchema>;

/** A JSON Schema for an object (the settings), as zod can read it (`z.fromJSONSchema`). */
export const SettingsSchemaSchema = z
  .record(z.string(), z.unknown())
  .refine((s) => s.type === "object", 'must be a JSON Schema with "type": "object"')
  .superRefine((s, ctx) => {
    try {
      z.fromJSONSchema(s as Parameters<typeof z.fromJSONSchema>[0]);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: `not a usable JSON Schema: ${(err as Error).message}` });
    }
  });

export const AliasesSchema = z.strictObject({
  openai: z
    .strictObject({
      /** OpenAI voice names -> this engine's voice (and options used with it). */
      voices: z.record(z.string().min(1), z.strictObject({ voice: z.string().min(1), options: z.record(z.string(), z.unknown()).optional() })).default({}),
      /** OpenAI model names this engine serves (unless the configuration maps them elsewhere). */
      models: z.array(z.string().min(1)).default([]),
    })
    .default({ voices: {}, models: [] }),
});

export const ManifestSchema = z.strictObject({
  $schema: z.string().optional(),
  id,
  name: z.string().min(1),
  version: z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, "semantic version x.y.z"),
  description: z.string().default(""),
  /** Semver range of SDK versions the plugin works with (`^1.0.0`; a bare major `1` means 1.x). */
  sdk: z
    .string()
    .refine((r) => semver.validRange(r) !== null, "a semver range, e.g. ^1.0.0")
    .default("^1.0.0"),
  /** Module (relative to the plugin folder) whose default export is `definePlugin(...)`. */
  entry: z.string().min(1),
  /**
   * The language of the engine's code: `node` (TypeScript/JavaScript, default) or `python`
   * (`entry` is a .py file defining `create(context)`; always a child process, run with the
   * plugin's own environment, see `python`).
   */
  runtime: z.enum(["node", "python"]).default("node"),
  /** Python engines: the environment to build (see PythonSchema). */
  python: PythonSchema.optional(),
  /** Where the engine code runs: its own worker thread, or its own child process. */
  isolation: z.enum(["worker", "process"]).default("worker"),
  license: z.string().optional(),
  languages: z.array(z.string()).default([]),
  defaultVoice: z.string().optional(),
  /** Voice ids of the form `PREFIX:name` this engine uses (XTTS: AllTalk's `voiceset:`, `latent:`); never read as `engine:voice`. */
  voicePrefixes: z.array(id).optional(),
  capabilities: CapabilitiesSchema.default(CapabilitiesSchema.parse({})),
  resources: ResourcesSchema.default(ResourcesSchema.parse({ profiles: [{ name: "cpu", device: "cpu" }] })),
  options: z
    .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/), OptionSpecSchema)
    .superRefine(checkOptionSpecs)
    .default({}),
  timeouts: TimeoutsSchema.default(TimeoutsSchema.parse({})),
  /** Subcommands this plugin adds to the `chorus` CLI. */
  commands: z.array(CommandSpecSchema).default([]),
  /** JSON Schema of this engine's settings (`engines.settings.<id>`), checked when the plugin is loaded. */
  settings: SettingsSchemaSchema.optional(),
  /** Names the compatibility APIs know this engine by. */
  aliases: AliasesSchema.default({ openai: { voices: {}, models: [] } }),
});
export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestInput = z.input<typeof ManifestSchema>;

/** Human-readable list of manifest problems, each naming the field. */
export function describeZodIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
}

/** Compile-time check: the SDK's `Manifest` type is exactly what this schema produces. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const manifestTypesAgree: Same<Manifest, SdkManifest> = true;
void manifestTypesAgree;
