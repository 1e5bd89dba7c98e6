/**
 * The shared set-up of the Wyoming server tests: a host over the real engines (eSpeak NG,
 * Flite, Piper with the generated test voices) and the `tonal` test engine, its Wyoming server
 * on a free port (voices warmed), and helpers for one call per connection, as Home Assistant
 * makes them.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import type { Host } from "../../core/host.ts";
import { startWyoming, type WyomingServer } from "../../core/wyoming/index.ts";
import { ensureTestVoices } from "../fixtures/piper/generate-voices.ts";
import { testHost } from "../helpers/host.ts";
import { tempDir } from "../helpers/temp.ts";
import { audioGroups, WyomingClient, type Event, type Framing } from "./client.ts";

export interface WyomingFixture {
  dataDir: string;
  /** A folder in Piper's voiceDirs, empty at start. */
  extraVoices: string;
  host: Host;
  server: WyomingServer;
  connect(): Promise<WyomingClient>;
  describeInfo(): Promise<Record<string, any>>;
  /** One non-streamed synthesize on its own connection; the events up to its audio-stop. */
  synthesize(data: Record<string, unknown>, framing?: Framing): Promise<Event[]>;
}

/** Starts the host and server before the file's tests (`name`: its data folder under var/). */
export function useWyoming(name: string): WyomingFixture {
  const dataDir = path.resolve("var", name);
  const extraVoices = tempDir("wyoming-voices");
  const fixture = { dataDir, extraVoices } as WyomingFixture;
  beforeAll(async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fixture.host = testHost({
      dataDir,
      text: { maxLength: 400 },
      engines: { dirs: ["engines", "tests/wyoming/fixtures/plugins"], settings: { piper: { voiceDirs: [ensureTestVoices(), extraVoices] } } },
      wyoming: { enabled: true, port: 0, maxConnections: 6, maxDataBytes: 4096, maxHeaderBytes: 4096, samplesPerChunk: 1024 },
    });
    fixture.server = await startWyoming(fixture.host);
    await fixture.server.warmed;
  }, 120_000);
  afterAll(async () => {
    await fixture.server?.close();
    await fixture.host?.close();
  });
  fixture.connect = () => WyomingClient.connect(fixture.server.port);
  fixture.describeInfo = async () => {
    const client = await fixture.connect();
    client.send("describe");
    const [info] = await client.until("info");
    client.close();
    return info!.data;
  };
  fixture.synthesize = async (data, framing = "data_length") => {
    const client = await fixture.connect();
    client.send("synthesize", data, framing);
    const events = await client.until("audio-stop");
    client.close();
    return events;
  };
  return fixture;
}

/** Checks one audio group (start, full chunks with the format on each, stop); its PCM and rate. */
export function checkGroup(events: Event[], samplesPerChunk = 1024) {
  expect(events[0]!.type).toBe("audio-start");
  expect(events.at(-1)!.type).toBe("audio-stop");
  const chunks = events.slice(1, -1);
  expect(chunks.length).toBeGreaterThan(0);
  const { rate, width, channels } = events[0]!.data as { rate: number; width: number; channels: number };
  for (const [i, c] of chunks.entries()) {
    expect(c.type).toBe("audio-chunk");
    expect(c.data).toMatchObject({ rate, width: 2, channels: 1 });
    expect(c.payload!.length % (width * channels)).toBe(0);
    if (i < chunks.length - 1) expect(c.payload!.length).toBe(samplesPerChunk * width * channels);
  }
  const [group] = audioGroups(events);
  return { rate, pcm: group!.pcm, seconds: group!.pcm.length / rate };
}
