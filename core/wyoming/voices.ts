/**
 * The voices the Wyoming `info` lists, known without loading an engine at describe time:
 * every available engine's voice list as last asked (at start when `warmVoices`, whenever a
 * plugin is added or updated, and again for engines already loaded when a describe comes),
 * kept in `<dataDir>/wyoming/voices.json` across restarts. An engine whose voices are not yet
 * known is listed as one voice, `engine` (its default voice), so every engine shows up; one
 * that answered with no voices (none installed) is left out until it lists some.
 */
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { Registry, RegistryChange } from "../registry/registry.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { SpeechPipeline } from "../synth/pipeline.ts";
import type { Voice } from "../../packages/sdk/src/index.ts";

/** One voice as `engine:voice`, the name that round-trips through `synthesize`. */
export interface ListedVoice {
  name: string;
  engine: string;
  /** The engine's display name (the voice's attribution). */
  engineName: string;
  voice: string | undefined;
  description: string;
  languages: string[];
  speakers: string[] | null;
  version: string | null;
}

/** Seconds before a loaded engine's voices are asked again on describe. */
const REFRESH_AFTER_MS = 5000;
/** A voice-list call (which may load the engine) gives up after this long. */
const LIST_TIMEOUT_MS = 120_000;

/** Chorus language tags (`en-us`, `cmn`, `sr-latn-rs`) in the form Home Assistant groups by (`en_US`). */
export function wyomingLanguage(tag: string): string {
  const parts = tag.trim().split(/[-_]/).filter(Boolean);
  if (!parts.length) return tag;
  // Region upper case, script title case, as in BCP 47; after a singleton (`x`), all lower case.
  const singleton = parts.findIndex((part, i) => i > 0 && part.length === 1);
  return parts
    .map((part, i) => {
      if (i === 0 || (singleton > 0 && i >= singleton)) return part.toLowerCase();
      if (/^[a-z]{2}$|^\d{3}$/i.test(part)) return part.toUpperCase();
      if (/^[a-z]{4}$/i.test(part)) return part[0]!.toUpperCase() + part.slice(1).toLowerCase();
      return part.toLowerCase();
    })
    .join("_");
}

/**
 * A voice name as a label in Home Assistant's voice list: without the links some voice data
 * carries in its names (eSpeak NG's Cherokee is "Cherokee //https://github.com/..."), as the
 * studio shows it.
 */
export function voiceLabel(name: string, id: string): string {
  const label = name
    .replace(/\/*\s*(https?:\/\/|www\.)\S*/gi, " ")
    .replace(/\s+/g, " ")
    .trim();
  return label || id;
}

export class VoiceDirectory {
  private readonly known = new Map<string, { generation: number; voices: Voice[]; at: number }>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly stop = new AbortController();
  private readonly file: string;
  private readonly onChange = (change: RegistryChange) => this.changed(change);

  constructor(
    private readonly registry: Registry,
    private readonly scheduler: Scheduler,
    private readonly pipeline: SpeechPipeline,
    private readonly log: Logger,
    dataDir: string,
  ) {
    this.file = path.join(dataDir, "wyoming", "voices.json");
  }

  /** Reads the kept lists, follows the registry, and (with `warm`) asks every engine in turn. */
  start(warm: boolean): Promise<void> {
    this.restore();
    this.registry.on("change", this.onChange);
    if (!warm) return Promise.resolve();
    // manifest() is set only for engines that can run now (not failed, not waiting for `chorus plugin setup`)
    const engines = this.registry
      .list()
      .filter((e) => this.registry.manifest(e.id))
      .map((e) => e.id);
    // One engine at a time: warming is background work, never a burst of loads.
    return engines.reduce((chain, id) => chain.then(() => this.refresh(id)), Promise.resolve());
  }

  close(): void {
    this.registry.off("change", this.onChange);
    this.stop.abort(new Error("the Wyoming server is closing"));
  }

  /** All voices now, without waiting for any engine; loaded engines are asked again in the background. */
  list(): ListedVoice[] {
    const out: ListedVoice[] = [];
    for (const entry of this.registry.list()) {
      const manifest = this.registry.manifest(entry.id); // none for a failed engine or one that needs setup
      if (!manifest) continue;
      const known = this.known.get(entry.id);
      if (this.scheduler.isLoaded(entry.id) && (!known || Date.now() - known.at > REFRESH_AFTER_MS)) void this.refresh(entry.id);
      const languagesOf = (tags: string[]) => [...new Set((tags.length ? tags : manifest.languages).map(wyomingLanguage))];
      // Asked and none installed (Piper without a model): nothing it could speak with is offered.
      if (known && !known.voices.length) continue;
      if (!known) {
        out.push({
          name: entry.id,
          engine: entry.id,
          engineName: manifest.name,
          voice: undefined,
          description: `${manifest.name} (default voice)`,
          languages: languagesOf(manifest.languages),
          speakers: null,
          version: manifest.version,
        });
        continue;
      }
      for (const v of known.voices) {
        out.push({
          name: `${entry.id}:${v.id}`,
          engine: entry.id,
          engineName: manifest.name,
          voice: v.id,
          description: `${voiceLabel(v.name, v.id)} (${manifest.name})`,
          languages: languagesOf(v.languages),
          speakers: v.speakers?.length ? [...v.speakers] : null,
          version: manifest.version,
        });
      }
    }
    return out;
  }

  /** The engine and voice id a listed voice stands for, if it is listed. */
  find(name: string): ListedVoice | undefined {
    const lower = name.toLowerCase();
    const all = this.list();
    return (
      all.find((v) => v.name === name) ??
      all.find((v) => v.name.toLowerCase() === lower) ??
      all.find((v) => v.voice !== undefined && v.voice.toLowerCase() === lower)
    );
  }

  /** Asks engine `id` for its voices (through the scheduler, so it may load it). Never throws. */
  refresh(id: string): Promise<void> {
    const running = this.inFlight.get(id);
    if (running) return running;
    const entry = this.registry.get(id);
    if (entry?.status !== "available" || this.stop.signal.aborted) return Promise.resolve();
    const generation = entry.generation;
    const signal = AbortSignal.any([this.stop.signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]);
    const run = this.pipeline
      .voices(id, signal)
      .then((voices) => {
        if (this.registry.get(id)?.generation !== generation) return;
        this.known.set(id, { generation, voices, at: Date.now() });
        this.persist();
        this.log.debug({ engine: id, voices: voices.length }, "wyoming voices refreshed");
      })
      .catch((err: unknown) => {
        if (!this.stop.signal.aborted)
          this.log.warn({ engine: id, err: (err as Error).message }, "wyoming: could not list the engine's voices; it is listed by its default voice");
      })
      .finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, run);
    return run;
  }

  private changed(change: RegistryChange): void {
    if (change.kind === "removed") {
      this.known.delete(change.id);
      this.persist();
    } else if (change.kind === "added" || change.kind === "updated" || change.kind === "demoted") {
      void this.refresh(change.id);
    }
  }

  private restore(): void {
    try {
      const saved = JSON.parse(fs.readFileSync(this.file, "utf8")) as Record<string, { version: string; voices: Voice[] }>;
      for (const [id, item] of Object.entries(saved)) {
        const entry = this.registry.get(id);
        // Kept lists of another version of the plugin are not trusted.
        if (entry?.status === "available" && entry.manifest.version === item.version && Array.isArray(item.voices)) {
          this.known.set(id, { generation: entry.generation, voices: item.voices.filter((v) => typeof v?.id === "string"), at: 0 });
        }
      }
    } catch {
      // none kept yet, or unreadable: asked afresh
    }
  }

  private persist(): void {
    const out: Record<string, { version: string; voices: Voice[] }> = {};
    for (const [id, item] of this.known) {
      const version = this.registry.manifest(id)?.version;
      if (version) out[id] = { version, voices: item.voices };
    }
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(out));
      fs.renameSync(tmp, this.file);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, file: this.file }, "wyoming: could not keep the voice lists");
    }
  }
}
