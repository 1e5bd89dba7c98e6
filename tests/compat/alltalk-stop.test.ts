/**
 * PUT /api/stop-generation stops a running AllTalk generation between sentences: the
 * generation answers a cancelled error and leaves no (truncated) file, never a success.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDataDir } from "../helpers/host.ts";
import { startChorus, type RunningChorus } from "./server.ts";

let chorus: RunningChorus;
const dataDir = testDataDir();
beforeAll(async () => {
  // The ticker test engine waits while DATA/engines/ticker/hold exists: the test holds it
  // mid-text, stops it, and never depends on how fast sentences go.
  chorus = await startChorus({}, { dataDir, engines: { dirs: ["engines", "tests/host/fixtures/plugins"], default: "ticker" } });
  await chorus.host.pipeline.voices("ticker"); // loaded before the test, so it is stopped mid-text
});
afterAll(() => chorus.close());

describe("AllTalk stop-generation", () => {
  it("cancels a running generation, which answers 499 and writes no file", async () => {
    const text = Array.from({ length: 30 }, (_, i) => `Sentence number ${i + 1}.`).join(" ");
    const body = new URLSearchParams({ text_input: text, output_file_name: "stopped", output_file_timestamp: "false" });
    const hold = path.join(dataDir, "engines", "ticker", "hold");
    fs.writeFileSync(hold, "");
    const pending = fetch(`${chorus.url}/api/tts-generate`, { method: "POST", body });
    const ticker = () => chorus.host.scheduler.residents().find((r) => r.engineId === "ticker");
    while (ticker()?.inFlight !== 1) await new Promise((r) => setTimeout(r, 10)); // the generation is running
    const stop = await (await fetch(`${chorus.url}/api/stop-generation`, { method: "PUT" })).json();
    expect(stop).toMatchObject({ cancelled: 1 });
    const res = await pending;
    expect(res.status).toBe(499);
    expect(await res.json()).toMatchObject({ status: "generate-failure", error: { code: "CHORUS_ERR_REQUEST_CANCELLED" } });
    expect(fs.existsSync(path.resolve(dataDir, "outputs", "stopped.wav"))).toBe(false);
    fs.rmSync(hold);

    // The next generation is unaffected.
    const next = await fetch(`${chorus.url}/api/tts-generate`, {
      method: "POST",
      body: new URLSearchParams({ text_input: "One. Two.", output_file_name: "after", output_file_timestamp: "false" }),
    });
    expect(next.status).toBe(200);
    expect((await next.json()).status).toBe("generate-success");
  });
});
