/**
 * SillyTavern streams by putting the whole message into an <audio> src:
 * `/tts_stream/?text=...` (XTTSv2 provider) or `/api/tts-generate-streaming?text=...` (AllTalk
 * provider). Percent-encoded, a Chinese character is 9 bytes, so 2,000 of them (well inside
 * text.maxLength) made an 18 KB request line, over Node's 16 KB default: the element got a 431
 * and played nothing. A listener takes 16 KB plus 12 bytes per text.maxLength character; real
 * listeners (the HTTP parser is not involved with inject), Chorus's port and the second one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/process.ts";
import { rawRequest } from "../helpers/raw-http.ts";
import { tempDir } from "../helpers/temp.ts";
import { startChorus, type RunningChorus } from "./server.ts";

let chorus: RunningChorus;
let xttsPort: number;
beforeAll(async () => {
  xttsPort = await freePort();
  chorus = await startChorus({ xttsApi: { port: xttsPort } }, { dataDir: tempDir("long-stream-urls") });
});
afterAll(async () => chorus?.close());

const chinese = "这是一个很长的句子。".repeat(200); // 2,000 characters, 18 KB encoded
const russian = "Это довольно длинное предложение на русском языке. ".repeat(70); // 3,570 characters, 18 KB encoded

describe("a streaming GET whose URL carries a long non-Latin text", () => {
  it.each([
    ["xtts-api /tts_stream/ (Chinese)", () => `${chorus.url}/tts_stream/?${new URLSearchParams({ text: chinese, speaker_wav: "cmn", language: "zh-cn" })}`],
    [
      "xtts-api on its own port (Chinese)",
      () => `http://127.0.0.1:${xttsPort}/tts_stream/?${new URLSearchParams({ text: chinese, speaker_wav: "cmn", language: "zh-cn" })}`,
    ],
    ["AllTalk streaming (Russian)", () => `${chorus.url}/api/tts-generate-streaming?${new URLSearchParams({ text: russian, voice: "ru", language: "ru" })}`],
  ])("%s plays", async (_name, url) => {
    const target = url();
    expect(target.length).toBeGreaterThan(17_000);
    const res = await fetch(target);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^audio\//);
    // the first bytes are the WAV header; the rest is not needed
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).subarray(0, 4).toString("latin1")).toBe("RIFF");
    await reader.cancel();
  });

  it("beyond the limit (16 KB + 12 bytes per character of text.maxLength) it is still a 431 in the catalogue", async () => {
    const limit = 16 * 1024 + 12 * 5000; // text.maxLength: 5000 by default
    const res = await rawRequest(Number(new URL(chorus.url).port), `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(limit + 100)}\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.body).toMatchObject({ error: { code: "CHORUS_ERR_REQUEST_HEADERS_TOO_LARGE", message: expect.stringContaining("74 KB") } });
  });
});
