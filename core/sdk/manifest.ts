/**
 * The plugin manifest (`plugin.json`): what an engine is and what it needs, readable
 * without running any of its code. The host lists, validates and schedules engines from
 * manifests alone; code is imported only when an engine is first used.
 */
import { z } from "zod";

/** SDK version this host implements. Plugins declare a compatible major in `sdk`. */
export const SDK_VERSION = "1.0.0";

const id = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,47}$/, "lowercase letters, digits and '-', starting with a letter");

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
});
export type PlacementProfile = z.infer<typeof PlacementProfileSchema>;

/**
 * A fallback target: `engine` (its first profile) or `engine:profile`. The scheduler walks
 * the engine's own profiles in order, then these.
 */
export const FallbackSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,47}(:[a-z][a-z0-9-]{0,47})?$/, "engine or engine:profile");

export const ResourcesSchema = z.strictObject({
  profiles: z.array(PlacementProfileSchema).min(1),
  fallbacks: z.array(FallbackSchema).default([]),
});
export type Resources = z.infer<typeof ResourcesSchema>;

export const CapabilitiesSchema = z.strictObject({
  /** The engine yields audio in several chunks (per sentence or finer) as it makes them. */
  streaming: z.boolean().default(false),
  /** The engine honours `speed` (a rate factor, 1 = natural). Without it the host sends 1 and says so. */
  speed: z.boolean().default(false),
  /** The engine honours `pitch` (a frequency factor, 1 = natural). Without it the host sends 1 and says so. */
  pitch: z.boolean().default(false),
  /** Speed factors the engine can realise, [min, max]; the host clamps requests to it. Default: 0.25-4. */
  speedRange: z.tuple([z.number().positive(), z.number().positive()]).optional(),
  /** Pitch factors the engine can realise, [min, max]; the host clamps requests to it. Default: 0.25-4. */
  pitchRange: z.tuple([z.number().positive(), z.number().positive()]).optional(),
  voiceCloning: z.boolean().default(false),
  /** Sample rates the engine can produce (the actual one travels with every chunk). */
  sampleRates: z.array(z.number().int().positive()).default([]),
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
  name: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}( [a-z][a-z0-9-]{0,31})?$/, "one or two lowercase words, e.g. 'phonemize' or 'voices install'"),
  module: z.string().min(1),
  usage: z.string().default(""),
  description: z.string().default(""),
});
export type CommandSpec = z.infer<typeof CommandSpecSchema>;

export const ManifestSchema = z.strictObject({
  $schema: z.string().optional(),
  id,
  name: z.string().min(1),
  version: z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, "semantic version x.y.z"),
  description: z.string().default(""),
  /** Major version of the SDK the plugin is written against. */
  sdk: z.string().regex(/^\d+$/).default("1"),
  /** Module (relative to the plugin folder) whose default export is `definePlugin(...)`. */
  entry: z.string().min(1),
  /** Where the engine code runs: its own worker thread, or its own child process. */
  isolation: z.enum(["worker", "process"]).default("worker"),
  license: z.string().optional(),
  languages: z.array(z.string()).default([]),
  defaultVoice: z.string().optional(),
  capabilities: CapabilitiesSchema.default(CapabilitiesSchema.parse({})),
  resources: ResourcesSchema.default(
    ResourcesSchema.parse({ profiles: [{ name: "cpu", device: "cpu" }] }),
  ),
  options: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/), OptionSpecSchema).default({}),
  timeouts: TimeoutsSchema.default(TimeoutsSchema.parse({})),
  /** Subcommands this plugin adds to the `chorus` CLI. */
  commands: z.array(CommandSpecSchema).default([]),
});
export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestInput = z.input<typeof ManifestSchema>;

/** Human-readable list of manifest problems, each naming the field. */
export function describeZodIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
}
