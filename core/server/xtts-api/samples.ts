/**
 * Voice previews for /speakers' `preview_url` and GET /sample/{file}. A file of that name in
 * the speaker folder (a reference clip) is served as it is; otherwise `<voice>.wav` names a
 * speaker of the serving engine, whose preview is spoken once and kept on disk (per engine
 * generation, so an updated engine speaks it again). SillyTavern plays `preview_url` in an
 * `<audio>` element and throws when it is missing, so every speaker gets a working one.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { wholeAudio } from "../../audio/output/index.ts";
import { ChorusError } from "../../errors.ts";
import type { Host } from "../../host.ts";
import type { Voice } from "../../../packages/sdk/src/index.ts";
import { defaultSettings } from "./fields.ts";
import { confine, hasDotDot } from "./folders.ts";
import { XTTS_RATE, speak } from "./speak.ts";
import { servingEngine, type XttsState } from "./target.ts";

const PREVIEW_TEXT = "Hello! This is a preview of my voice.";

export class Samples {
  private readonly rendering = new Map<string, Promise<string>>();

  constructor(
    private readonly host: Host,
    private readonly state: XttsState,
    private readonly cacheDir: string,
  ) {}

  /**
   * The preview path (under /sample/) of each speaker: its clip when the speaker folder has
   * `<id>.wav`, the first clip of a voice set folder `<id>/`, else `<id>.wav` (spoken on demand).
   * URL-encoded, ready to append to `/sample/`.
   */
  async previewPaths(voices: Voice[]): Promise<string[]> {
    const entries = await fs.readdir(this.state.speakerFolder, { withFileTypes: true }).catch(() => []);
    const files = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    const dirs = new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name));
    return Promise.all(
      voices.map(async (voice) => {
        const own = `${encodeURIComponent(voice.id)}.wav`;
        if (files.has(`${voice.id}.wav`) || !dirs.has(voice.id)) return own;
        // A voice set: its first clip, as xtts-api-server does.
        const clips = (await fs.readdir(path.join(this.state.speakerFolder, voice.id)).catch(() => [] as string[])).filter((n) => n.endsWith(".wav")).sort();
        return clips.length ? `${encodeURIComponent(voice.id)}/${encodeURIComponent(clips[0]!)}` : own;
      }),
    );
  }

  /** The file to send for /sample/<name>; 404 `{"detail"}` when there is none. */
  async resolve(name: string): Promise<string> {
    if (hasDotDot(name) || name.includes("\0"))
      throw new ChorusError("CHORUS_ERR_FILE_NOT_FOUND", "'..' is not allowed in the file name", { field: "file_name" });
    const inFolder = await confine(this.state.roots.speakerRoot, this.state.speakerFolder, name, "file").catch(() => undefined);
    if (inFolder && (await isFile(inFolder))) return inFolder;
    const voice = /^(.+)\.wav$/i.exec(name)?.[1];
    if (!voice) throw new ChorusError("CHORUS_ERR_FILE_NOT_FOUND", "File not found", { field: "file_name" });
    const engine = servingEngine(this.state, this.host.registry, this.host.config);
    const voices = await this.host.pipeline.voices(engine);
    const found = voices.find((v) => v.id === voice) ?? voices.find((v) => v.id.toLowerCase() === voice.toLowerCase());
    if (!found) throw new ChorusError("CHORUS_ERR_FILE_NOT_FOUND", "File not found", { field: "file_name" });
    return this.render(engine, found.id);
  }

  private render(engine: string, voice: string): Promise<string> {
    const generation = this.host.registry.get(engine)?.generation ?? 0;
    const file = path.join(this.cacheDir, engine, String(generation), `${encodeURIComponent(voice)}.wav`);
    let pending = this.rendering.get(file);
    if (!pending) {
      pending = (async () => {
        if (await isFile(file)) return file;
        // Neutral settings: a preview made after `speed 2` would otherwise be kept at that speed.
        const speech = await speak(
          this.host,
          { ...this.state, settings: defaultSettings() },
          { text: PREVIEW_TEXT, speaker_wav: `${engine}:${voice}`, language: "en" },
          new AbortController().signal,
          false,
        );
        const wav = await wholeAudio(speech, { format: "wav", sampleRate: XTTS_RATE });
        await fs.mkdir(path.dirname(file), { recursive: true });
        await this.prune(engine, String(generation));
        const tmp = `${file}.${process.pid}.part`;
        await fs.writeFile(tmp, wav.body);
        await fs.rename(tmp, file);
        return file;
      })().finally(() => this.rendering.delete(file));
      this.rendering.set(file, pending);
    }
    return pending;
  }

  /** Previews of an engine's older generations are never served again. */
  private async prune(engine: string, keep: string): Promise<void> {
    const dir = path.join(this.cacheDir, engine);
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      if (name !== keep) await fs.rm(path.join(dir, name), { recursive: true, force: true });
    }
  }
}

async function isFile(p: string): Promise<boolean> {
  return (await fs.stat(p).catch(() => undefined))?.isFile() ?? false;
}
