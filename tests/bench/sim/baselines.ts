/**
 * Baseline policies the benchmark compares Chorus with, on the same simulated world:
 * - one engine at a time, reload on every switch (AllTalk): the profile is chosen once per
 *   engine, as a user would configure it for the card (the first whose memory fits the card
 *   minus what others hold); requests run one after another.
 * - plain LRU without fallbacks (a count limit, like LocalAI's max active backends): each
 *   engine on its first profile, no free-memory check, the least recently used idle engine
 *   unloaded past the limit; an out-of-memory fails the request.
 * - Ollama-like (OllamaLike, below): memory-aware LRU that queues when busy.
 */
import type { PlacementProfile } from "../../../packages/sdk/src/index.ts";
import type { LoadedEngine } from "../../../core/scheduler/types.ts";
import type { SimEngine, SimGpu, SimLoader } from "./world.ts";

export interface Served {
  engine: string;
  profile: string;
  fallback: boolean;
}

export interface Policy {
  serve(engineId: string, chars: number): Promise<Served>;
  evictions(): Promise<number> | number;
}

const text = (chars: number) => "x".repeat(chars);

async function run(engine: LoadedEngine, chars: number): Promise<void> {
  for await (const _ of engine.synthesize({ text: text(chars), voice: "default", speed: 1, pitch: 1, options: {} }, new AbortController().signal)) void _;
}

export class OneEngineAtATime implements Policy {
  private current?: { engineId: string; profile: PlacementProfile; engine: LoadedEngine };
  private chain: Promise<unknown> = Promise.resolve();
  private unloads = 0;
  constructor(
    private readonly loader: SimLoader,
    private readonly gpu: SimGpu,
    private readonly engines: SimEngine[],
  ) {}

  private profileFor(engineId: string): PlacementProfile {
    const profiles = this.engines.find((e) => e.manifest.id === engineId)!.manifest.resources.profiles;
    return profiles.find((p) => p.device === "cpu" || p.vramMb + p.transientVramMb <= this.gpu.totalMb - this.gpu.othersMb) ?? profiles.at(-1)!;
  }

  serve(engineId: string, chars: number): Promise<Served> {
    const next = this.chain.then(async () => {
      if (this.current?.engineId !== engineId) {
        if (this.current) {
          await this.current.engine.unload();
          this.unloads++;
          this.current = undefined;
        }
        const profile = this.profileFor(engineId);
        this.current = { engineId, profile, engine: await this.loader.load(engineId, profile) };
      }
      await run(this.current.engine, chars);
      return { engine: engineId, profile: this.current.profile.name, fallback: false };
    });
    this.chain = next.catch(() => {});
    return next;
  }

  evictions(): number {
    return this.unloads;
  }
}

interface LruEntry {
  engine: Promise<LoadedEngine>;
  profile: PlacementProfile;
  lastUsed: number;
  busy: number;
  chain: Promise<unknown>;
}

export class PlainLru implements Policy {
  private readonly loaded = new Map<string, LruEntry>();
  private unloads = 0;
  private tick = 0;
  constructor(
    private readonly loader: SimLoader,
    private readonly engines: SimEngine[],
    private readonly maxLoaded = 3,
  ) {}

  async serve(engineId: string, chars: number): Promise<Served> {
    let entry = this.loaded.get(engineId);
    if (!entry) {
      while (this.loaded.size >= this.maxLoaded) {
        const idle = [...this.loaded].filter(([, e]) => e.busy === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
        if (!idle) break;
        this.loaded.delete(idle[0]);
        this.unloads++;
        void idle[1].engine.then(
          (e) => e.unload(),
          () => {},
        );
      }
      const profile = this.engines.find((e) => e.manifest.id === engineId)!.manifest.resources.profiles[0]!;
      entry = { engine: this.loader.load(engineId, profile), profile, lastUsed: ++this.tick, busy: 0, chain: Promise.resolve() };
      this.loaded.set(engineId, entry);
      entry.engine.catch(() => this.loaded.get(engineId) === entry && this.loaded.delete(engineId));
    }
    const e = entry;
    e.busy++;
    e.lastUsed = ++this.tick;
    const next = e.chain.then(async () => run(await e.engine, chars));
    e.chain = next.catch(() => {});
    try {
      await next;
    } finally {
      e.busy--;
      e.lastUsed = ++this.tick;
    }
    return { engine: engineId, profile: e.profile.name, fallback: false };
  }

  evictions(): number {
    return this.unloads;
  }
}

interface OllamaEntry {
  profile: PlacementProfile;
  needMb: number;
  engine: Promise<LoadedEngine>;
  lastUsed: number;
  busy: number;
  chain: Promise<unknown>;
}

/**
 * Ollama-like: memory-aware. Estimates each model's need (resident + per-request memory of
 * the first GPU profile that fits the card's capacity as others leave it now, else the CPU
 * profile), counts the needs of the loaded models against that capacity, evicts the least
 * recently used idle model until the new one fits, and queues while the memory is held by
 * busy models. At most `maxLoaded` models (OLLAMA_MAX_LOADED_MODELS, 3 per GPU); one request
 * at a time per model (OLLAMA_NUM_PARALLEL=1); no fallbacks to other engines.
 */
export class OllamaLike implements Policy {
  private readonly loaded = new Map<string, OllamaEntry>();
  private unloads = 0;
  private tick = 0;
  private wakers: (() => void)[] = [];
  constructor(
    private readonly loader: SimLoader,
    private readonly gpu: SimGpu,
    private readonly engines: SimEngine[],
    private readonly maxLoaded = 3,
  ) {}

  private capacity(): number {
    return this.gpu.totalMb - this.gpu.othersMb;
  }

  private estimate(engineId: string): { profile: PlacementProfile; needMb: number } {
    const profiles = this.engines.find((e) => e.manifest.id === engineId)!.manifest.resources.profiles;
    const need = (p: PlacementProfile) => (p.device === "cuda" ? p.vramMb + p.transientVramMb : 0);
    const profile = profiles.find((p) => p.device === "cuda" && need(p) <= this.capacity()) ?? profiles.find((p) => p.device === "cpu") ?? profiles[0]!;
    return { profile, needMb: need(profile) };
  }

  private reserved(): number {
    let sum = 0;
    for (const e of this.loaded.values()) sum += e.needMb;
    return sum;
  }

  private wake(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }

  private async entryFor(engineId: string): Promise<OllamaEntry> {
    for (;;) {
      const existing = this.loaded.get(engineId);
      if (existing) return existing;
      const { profile, needMb } = this.estimate(engineId);
      // Evict least recently used idle models until the estimate fits (and a slot is free).
      for (;;) {
        const fits = needMb <= this.capacity() - this.reserved() && this.loaded.size < this.maxLoaded;
        if (fits) break;
        const idle = [...this.loaded].filter(([, e]) => e.busy === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
        if (!idle) break;
        this.loaded.delete(idle[0]);
        this.unloads++;
        await idle[1].engine.then(
          (e) => e.unload(),
          () => {},
        );
      }
      if (needMb <= this.capacity() - this.reserved() && this.loaded.size < this.maxLoaded) {
        const entry: OllamaEntry = { profile, needMb, engine: this.loader.load(engineId, profile), lastUsed: ++this.tick, busy: 0, chain: Promise.resolve() };
        this.loaded.set(engineId, entry);
        entry.engine.catch(() => {
          if (this.loaded.get(engineId) === entry) this.loaded.delete(engineId);
          this.wake();
        });
        return entry;
      }
      // Busy models hold the memory: queue until one finishes.
      await new Promise<void>((resolve) => this.wakers.push(resolve));
    }
  }

  async serve(engineId: string, chars: number): Promise<Served> {
    const e = await this.entryFor(engineId);
    e.busy++;
    e.lastUsed = ++this.tick;
    const next = e.chain.then(async () => run(await e.engine, chars));
    e.chain = next.catch(() => {});
    try {
      await next;
    } finally {
      e.busy--;
      e.lastUsed = ++this.tick;
      this.wake();
    }
    return { engine: engineId, profile: e.profile.name, fallback: false };
  }

  evictions(): number {
    return this.unloads;
  }
}
