/** The configuration schema. Every key has a default, so an empty file is a valid config. */
import { z } from "zod";
import { CompatSchema } from "./compat-schema.ts";
import { WyomingSchema } from "./wyoming-schema.ts";
import { FinetuneSchema } from "../finetune/config.ts";

const port = z.number().int().min(0).max(65535);

export const ServerSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port: port.default(7851),
  /** Largest request body accepted, bytes. */
  bodyLimit: z.number().int().positive().default(1_048_576),
  /** On SIGINT/SIGTERM, seconds running requests get to finish before they are cut off. */
  shutdownGraceSeconds: z.number().min(0).max(3600).default(10),
  /**
   * Host names (besides localhost, *.localhost and IP addresses) this server answers to, e.g.
   * a LAN name or a reverse proxy's; "*" allows any. Other Host headers get 403 (DNS rebinding).
   */
  allowedHosts: z.array(z.string().min(1)).default([]),
});

export const LogSchema = z.strictObject({
  level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** `auto`: readable in a terminal, JSON otherwise. */
  format: z.enum(["auto", "json", "pretty"]).default("auto"),
});

export const TextSchema = z.strictObject({
  maxLength: z.number().int().positive().default(5000),
  /**
   * Time to first audio: when a text has at least 4x this many words, the first sentence's
   * opening (up to its last comma, semicolon, colon or dash within this many words, else this
   * many words) is synthesised on its own, so the first audio comes after a few words instead
   * of a whole sentence. The cost: one extra utterance boundary at the cut (a short pause, a
   * falling tone). 0 turns it off. core/text/first-chunk.ts.
   */
  firstChunkWords: z.number().int().min(0).max(100).default(6),
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
  /**
   * The most copies of one CPU engine instance run side by side, for profiles that declare
   * `parallelism: "replicas"` (each copy its own worker thread or process, up to the profile's
   * `maxParallel`). `auto`: the machine's cores minus one for the event loop, at least 1.
   */
  cpuReplicas: z.union([z.literal("auto"), z.number().int().positive().max(64)]).default("auto"),
  /** Memory limit per plugin: declared `ramMb` + margin, or the default ceiling (docs/plugins.md). */
  memory: z
    .strictObject({
      marginMb: z.number().int().min(0).default(256),
      defaultCeilingMb: z.number().int().positive().default(2048),
      pollMs: z.number().int().min(10).default(250),
      /** Added for child processes (isolation "process"): their own Node runtime's RSS. */
      processRuntimeMb: z.number().int().min(0).default(160),
      /**
       * The server process's resident memory stays under this (MB; absent: 80 % of the system's
       * memory, or of the container's limit when lower): past 90 % of it the worker-thread engine
       * that grew unseen the most is stopped (core/registry/server-memory.ts).
       */
      serverCeilingMb: z.number().int().positive().optional(),
      /** How often the server's RSS is read against `serverCeilingMb`, ms. */
      serverPollMs: z.number().int().min(5).default(50),
    })
    .default({ marginMb: 256, defaultCeilingMb: 2048, pollMs: 250, processRuntimeMb: 160, serverPollMs: 50 }),
});

const SimulatedGpuSchema = z.strictObject({
  name: z.string().min(1).default("Simulated GPU"),
  totalMb: z.number().positive(),
  /** Memory other processes (desktop, an LLM) hold on this card. */
  heldByOthersMb: z.number().nonnegative().default(0),
});

/** Scheduler settings (docs/scheduler.md). */
export const SchedulerSchema = z.strictObject({
  /** Seconds an idle engine stays loaded; 0 unloads at once, -1 never. */
  keepAliveSeconds: z.number().min(-1).default(300),
  /** Engines loaded at once, at most. */
  maxLoaded: z.number().int().positive().default(4),
  devices: z
    .strictObject({
      /** `auto`: read NVIDIA GPUs with nvidia-smi; `off`: CPU only. Ignored when `simulated` lists GPUs. */
      gpus: z.enum(["auto", "off"]).default("auto"),
      nvidiaSmi: z.string().min(1).default("nvidia-smi"),
      /** Simulated GPUs: only the accounting is simulated; engines run their CPU path. */
      simulated: z.array(SimulatedGpuSchema).default([]),
      /** RAM engines may hold, MB (default: 80% of system memory). */
      cpuRamMb: z.number().positive().optional(),
    })
    .default({ gpus: "auto", nvidiaSmi: "nvidia-smi", simulated: [] }),
  /** Never allocated on a GPU: max(reserveMb, reservePercent of total). */
  reserveMb: z.number().nonnegative().default(256),
  reservePercent: z.number().min(0).max(50).default(5),
  /** Requests waiting for a placement, at most (more -> 503 with Retry-After). */
  queueSize: z.number().int().positive().default(512),
  /** Seconds a request may wait for a placement before 503. */
  requestDeadlineSeconds: z.number().positive().default(120),
  /** While requests wait for GPU memory, the GPUs are re-read this often (others free memory too). */
  memoryRereadSeconds: z.number().positive().default(2),
  /** Requests on one engine instance take turns sentence by sentence (fairness; false: whole requests). */
  sentenceTurns: z.boolean().default(true),
  /** Others' GPU memory counts as their highest reading over this many seconds (0: the last one). */
  othersPeakSeconds: z.number().nonnegative().default(5),
  /** Failed loads: the profile is skipped for `initialSeconds`, doubling up to `maxSeconds`. */
  cooldown: z
    .strictObject({ initialSeconds: z.number().positive().default(10), maxSeconds: z.number().positive().default(300) })
    .default({ initialSeconds: 10, maxSeconds: 300 }),
  /** After an eviction on a real GPU: poll free memory until `fraction` of it is back, or the timeout. */
  release: z
    .strictObject({
      pollMs: z.number().positive().default(250),
      timeoutMs: z.number().positive().default(5000),
      fraction: z.number().min(0).max(1).default(0.75),
    })
    .default({ pollMs: 250, timeoutMs: 5000, fraction: 0.75 }),
  /** Per-engine overrides. */
  engines: z
    .record(
      z.string(),
      z.strictObject({
        keepAliveSeconds: z.number().min(-1).optional(),
        pinned: z.boolean().optional(),
        lowVram: z.boolean().optional(),
      }),
    )
    .default({}),
  /** Decisions kept for GET /api/scheduler. */
  decisionLogSize: z.number().int().positive().default(200),
});
export type SchedulerConfig = z.infer<typeof SchedulerSchema>;

/** Python engine environments (`chorus plugin setup`, docs/plugins.md#python-plugins). */
export const PythonEnvSchema = z.strictObject({
  /** Interpreter used to create environments (default: the newest python3.x on PATH that fits the plugin). */
  executable: z.string().min(1).optional(),
  /** `auto`: uv when it is on PATH, else python -m venv + pip. */
  installer: z.enum(["auto", "uv", "pip"]).default("auto"),
  /** Where torch wheels come from: `<torchIndexUrl>/<cpu|cu128|...>`; empty: the default package index. */
  torchIndexUrl: z.string().default("https://download.pytorch.org/whl"),
  /** Where environments live (one folder per plugin); default `<dataDir>/python`. */
  envsDir: z.string().min(1).optional(),
});

export const ConfigSchema = z.strictObject({
  server: ServerSchema.default(ServerSchema.parse({})),
  log: LogSchema.default(LogSchema.parse({})),
  text: TextSchema.default(TextSchema.parse({})),
  engines: EnginesSchema.default(EnginesSchema.parse({})),
  scheduler: SchedulerSchema.default(SchedulerSchema.parse({})),
  /** OpenAI/AllTalk compatibility: model and voice mapping, CORS, API key, output files. */
  compat: CompatSchema.default(CompatSchema.parse({})),
  python: PythonEnvSchema.default(PythonEnvSchema.parse({})),
  /** The Wyoming (Home Assistant) TCP server: off unless enabled. */
  wyoming: WyomingSchema.default(WyomingSchema.parse({})),
  /** Fine-tuning tools: dataset folders the API may read, the transcriber's Python. */
  finetune: FinetuneSchema.default(FinetuneSchema.parse({})),
  /** Writable folder for state, caches and generated files. Relative to the Chorus root. */
  dataDir: z.string().min(1).default("var"),
});

export type Config = z.infer<typeof ConfigSchema>;
