/**
 * AllTalk's control routes take query parameters only (FastAPI upstream never reads their
 * body), and clients send bodies anyway: a browser `fetch(url, {method: "POST", body:
 * JSON.stringify({tts_method})})` is text/plain (found in a published AllTalk client), and
 * Python clients that share a headers dict send `Content-Type: application/json` with no body.
 * Those bodies are ignored, not refused with 415/400.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/temp.ts";
import { startChorus, type RunningChorus } from "./server.ts";

let chorus: RunningChorus;
beforeAll(async () => {
  chorus = await startChorus({}, { dataDir: tempDir("alltalk-control-bodies") });
});
afterAll(async () => chorus?.close());

const call = (path: string, init: RequestInit) => fetch(`${chorus.url}${path}`, init);

describe("AllTalk control routes ignore a body they do not read", () => {
  it("reload with a text/plain JSON body (fetch with a string body)", async () => {
    const res = await call("/api/reload?tts_method=flite", { method: "POST", body: JSON.stringify({ tts_method: "flite" }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "model-success" });
    expect((await (await call("/api/currentsettings", {})).json()).current_engine_loaded).toBe("flite");
    const back = await call("/api/reload?tts_method=espeak", { method: "POST", headers: { "content-type": "application/json" } });
    expect(back.status).toBe(200);
    expect((await (await call("/api/currentsettings", {})).json()).current_engine_loaded).toBe("espeak");
  });

  it.each([
    ["an empty body declared as JSON", { "content-type": "application/json" }, undefined],
    ["a JSON body", { "content-type": "application/json" }, '{"new_low_vram_value":"nonsense"}'],
    ["a form body", { "content-type": "application/x-www-form-urlencoded" }, "x=1"],
    ["a text/plain body", { "content-type": "text/plain" }, "hello"],
  ])("lowvramsetting, deepspeed and stop-generation with %s", async (_name, headers, body) => {
    const low = await call("/api/lowvramsetting?new_low_vram_value=False", { method: "POST", headers, body });
    expect(low.status).toBe(200);
    expect(await low.json()).toEqual({ status: "lowvram-success" });
    const deep = await call("/api/deepspeed?new_deepspeed_value=False", { method: "POST", headers, body });
    expect(deep.status).toBe(200);
    expect(await deep.json()).toEqual({ status: "deepspeed-success" });
    const stop = await call("/api/stop-generation", { method: "PUT", headers, body });
    expect(stop.status).toBe(200);
    expect(await stop.json()).toMatchObject({ cancelled: 0 });
  });

  it("the query is still what counts, and its errors keep AllTalk's shape", async () => {
    const res = await call("/api/reload?tts_method=nope", { method: "POST", headers: { "content-type": "application/json" }, body: '{"tts_method":"espeak"}' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: "generate-failure", error: { code: "CHORUS_ERR_ENGINE_NOT_FOUND", field: "tts_method" } });
  });

  it("the synthesis routes still refuse a body they cannot read", async () => {
    const res = await call("/api/tts-generate", { method: "POST", headers: { "content-type": "text/plain" }, body: "text_input=hi" });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ status: "generate-failure", error: { code: "CHORUS_ERR_REQUEST_MEDIA_TYPE" } });
  });
});
