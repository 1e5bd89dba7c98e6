/**
 * The Wyoming server's robustness: request errors as error events on a connection that stays
 * open (with the audio-stop / synthesize-stopped a client waits for), malformed frames that
 * close only their own connection, clients that go away mid-frame or mid-synthesis (the
 * synthesis is cancelled), graceful shutdown, and the connection limit; the server stays up.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startWyoming } from "../../core/wyoming/index.ts";
import { testHost } from "../helpers/host.ts";
import { waitFor } from "../hotswap/server.ts";
import { audioGroups, WyomingClient, type Framing } from "./client.ts";
import { checkGroup, useWyoming } from "./setup.ts";

const wy = useWyoming("test-wyoming-robust");
const connect = () => wy.connect();
const describeInfo = () => wy.describeInfo();
const _synthesize = (data: Record<string, unknown>, framing?: Framing) => wy.synthesize(data, framing);
const dataDir = wy.dataDir;

describe("errors and robustness", () => {
  it("answers bad requests with error events and keeps the connection", async () => {
    const client = await connect();
    // Each failed synthesize: an error, then the audio-stop Home Assistant waits for (it ignores errors).
    const expectError = async (code: string, stop = true) => {
      const events = await client.until(stop ? "audio-stop" : "error");
      expect(events.map((e) => e.type)).toEqual(stop ? ["error", "audio-stop"] : ["error"]);
      expect(events[0]!.data).toMatchObject({ code, text: expect.any(String) });
    };
    client.send("synthesize", { text: "Hello.", voice: { name: "nobody-at-all" } });
    await expectError("CHORUS_ERR_VOICE_NOT_FOUND");
    client.send("synthesize", { text: "Hello.", voice: { name: "nosuch:voice" } });
    await expectError("CHORUS_ERR_ENGINE_NOT_FOUND");
    client.send("synthesize", { text: "   ...  " });
    await expectError("CHORUS_ERR_TEXT_EMPTY");
    client.send("synthesize", { text: "word ".repeat(100) });
    await expectError("CHORUS_ERR_TEXT_TOO_LONG");
    client.send("synthesize", { voice: { name: "flite:slt" } });
    await expectError("CHORUS_ERR_REQUEST_INVALID");
    client.send("synthesize-chunk", { text: "no start" });
    await expectError("CHORUS_ERR_REQUEST_INVALID", false);
    client.send("synthesize-stop");
    expect((await client.until("synthesize-stopped")).map((e) => [e.type, e.data.code])).toEqual([
      ["error", "CHORUS_ERR_REQUEST_INVALID"],
      ["synthesize-stopped", undefined],
    ]);
    client.send("synthesize-start", { voice: "not an object" });
    client.send("synthesize-chunk", { text: "Dropped." });
    client.send("synthesize-stop");
    expect((await client.until("synthesize-stopped")).map((e) => [e.type, e.data.code])).toEqual([
      ["error", "CHORUS_ERR_REQUEST_INVALID"],
      ["synthesize-stopped", undefined],
    ]);
    client.send("ping", { text: "still there?" });
    expect((await client.until("pong")).at(-1)!.data).toEqual({ text: "still there?" });
    client.send("synthesize", { text: "Still working.", voice: { name: "flite:slt" } });
    checkGroup(await client.until("audio-stop"));
    client.close();
  });

  const malformed: [string, Buffer | string, string][] = [
    ["bad JSON", '{"type": "describe"\n', "CHORUS_ERR_REQUEST_MALFORMED"],
    ["a data block over the limit", '{"type": "synthesize", "data_length": 100000}\n', "CHORUS_ERR_REQUEST_TOO_LARGE"],
    ["a header line over the limit", `{"type": "synthesize", "data": {"text": "${"x".repeat(5000)}`, "CHORUS_ERR_REQUEST_TOO_LARGE"],
    ["a data_length that lies", '{"type": "synthesize", "data_length": 20}\n{"text": "hello world"}\n{"type": "describe"}\n', "CHORUS_ERR_REQUEST_MALFORMED"],
  ];
  for (const [what, bytes, code] of malformed) {
    it(`closes only the connection that sent ${what}, with an error`, async () => {
      const bystander = await connect();
      const client = await connect();
      client.raw(bytes);
      const events = await client.closedWith();
      expect(events.map((e) => e.type)).toEqual(["error"]);
      expect(events[0]!.data.code).toBe(code);
      bystander.send("describe");
      expect((await bystander.until("info")).at(-1)!.type).toBe("info");
      bystander.close();
    });
  }

  it("survives a client that disconnects mid-frame and one that disconnects mid-synthesis, cancelling its synthesis", async () => {
    const half = await connect();
    half.raw('{"type": "synthesize", "data_length": 200}\n{"text": ');
    half.close();
    const engineData = path.join(dataDir, "engines", "tonal");
    const slowCalls = () =>
      fs
        .readFileSync(path.join(engineData, "calls.log"), "utf8")
        .split("\n")
        .filter((l) => l.startsWith("slow: ")).length;
    const inFlight = () => wy.host.scheduler.residents().find((r) => r.engineId === "tonal")?.inFlight ?? 0;
    // 150 ms per sentence: the client is gone long before the last one.
    const sentences = (n: number) => Array.from({ length: n }, (_, i) => `Sentence ${i + 1} is here.`).join(" ");
    for (const [streamed, n] of [
      [true, 40],
      [false, 15],
    ] as const) {
      await waitFor(() => inFlight() === 0, 60_000, "the engine to be free");
      const before = fs.existsSync(path.join(engineData, "calls.log")) ? slowCalls() : 0;
      const client = await connect();
      if (streamed) {
        client.send("synthesize-start", { voice: { name: "tonal:slow" } });
        client.send("synthesize-chunk", { text: `${sentences(n)} ` });
      } else client.send("synthesize", { text: sentences(n), voice: { name: "tonal:slow" } });
      await client.until("audio-chunk");
      client.close();
      // The connection counts as closed once its synthesis has stopped: with sentences left.
      await waitFor(() => wy.server.connections === 0, 60_000, "the connection and its work to end");
      // (The stream's last sentence waits for more text: at most n - 1 could ever run.)
      expect(slowCalls() - before).toBeLessThan(n / 2);
      expect(inFlight()).toBe(0);
    }
    expect(Object.keys(await describeInfo())).toContain("tts");
  });

  it("on shutdown lets the request in hand finish, closes idle connections and accepts no new ones", async () => {
    const own = testHost({
      dataDir: path.join(dataDir, "shutdown"),
      engines: { dirs: ["tests/wyoming/fixtures/plugins"], default: "tonal" },
      wyoming: { port: 0, warmVoices: false },
    });
    const ownServer = await startWyoming(own);
    try {
      const idle = await WyomingClient.connect(ownServer.port);
      const busy = await WyomingClient.connect(ownServer.port);
      const text = Array.from({ length: 8 }, (_, i) => `Sentence ${i + 1} is here.`).join(" "); // 150 ms each
      busy.send("synthesize", { text, voice: { name: "tonal:slow" } });
      const first = await busy.until("audio-chunk");
      const done = ownServer.shutdown();
      await idle.closedWith();
      await expect(WyomingClient.connect(ownServer.port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
      const [group] = audioGroups([...first, ...(await busy.closedWith())]);
      expect(group!.pcm.length).toBe(16000 * 0.05 * 4 * 8); // every sentence, then the server closed
      await done;
    } finally {
      await ownServer.close();
      await own.close();
    }
  });

  it("refuses connections over wyoming.maxConnections with an error, and takes new ones when some close", async () => {
    await waitFor(() => wy.server.connections === 0, 60_000, "the earlier tests' connections to close");
    const open = await Promise.all(Array.from({ length: 6 }, () => connect()));
    for (const c of open) c.send("ping");
    await Promise.all(open.map((c) => c.until("pong")));
    const extra = await connect();
    const events = await extra.closedWith();
    expect(events.map((e) => [e.type, e.data.code])).toEqual([["error", "CHORUS_ERR_CONNECTION_LIMIT"]]);
    open[0]!.close();
    await waitFor(() => wy.server.connections < 6, 60_000, "a free connection slot");
    expect(Object.keys(await describeInfo())).toContain("tts");
    for (const c of open.slice(1)) c.close();
  });
});
