/** The configuration schema. Every key has a default, so an empty file is a valid config. */
import { z } from "zod";

const port = z.number().int().min(0).max(65535);

export const ServerSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port: port.default(7851),
  /** Largest request body accepted, bytes. */
  bodyLimit: z.number().int().positive().default(1_048_576),
});

export const LogSchema = z.strictObject({
  level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** `auto`: readable in a terminal, JSON otherwise. */
  format: z.enum(["auto", "json", "pretty"]).default("auto"),
});

export const TextSchema = z.strictObject({
  maxLength: z.number().int().positive().default(5000),
});

export const EnginesSchema = z.strictObject({
  /** Engine used when a request names none. */
  default: z.string().min(1).default("espeak"),
  /** Folders holding one engine folder each (with plugin.json). Relative to the Chorus root. */
  dirs: z.array(z.string().min(1)).default(["engines", "plugins"]),
  /** Per-engine settings handed to the engine at load (`settings.<id>`). */
  settings: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  /** Seconds an engine may take to start (import its code). */
  startTimeoutSeconds: z.number().positive().default(30),
});

export const SchedulerSchema = z.looseObject({
  /** Seconds an idle engine stays loaded; 0 unloads at once, -1 never. */
  keepAliveSeconds: z.number().min(-1).default(300),
  /** Engines loaded at once, at most. */
  maxLoaded: z.number().int().positive().default(4),
});

export const ConfigSchema = z.strictObject({
  server: ServerSchema.default(ServerSchema.parse({})),
  log: LogSchema.default(LogSchema.parse({})),
  text: TextSchema.default(TextSchema.parse({})),
  engines: EnginesSchema.default(EnginesSchema.parse({})),
  scheduler: SchedulerSchema.default(SchedulerSchema.parse({})),
  /** Writable folder for state, caches and generated files. Relative to the Chorus root. */
  dataDir: z.string().min(1).default("var"),
});

export type Config = z.infer<typeof ConfigSchema>;
