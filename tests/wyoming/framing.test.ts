/**
 * The Wyoming frame reader and writer: both framings (inline `data`, `data_length` block,
 * both merged), payloads, bytes arriving one at a time, and every kind of malformed frame
 * (bad JSON, wrong types, lengths over the limits, data blocks that are not what the length says).
 */
import { describe, expect, it } from "vitest";
import { encodeEvent, FrameError, FrameReader } from "../../core/wyoming/framing.ts";
import { frame } from "./client.ts";

const limits = { maxHeaderBytes: 1024, maxDataBytes: 2048, maxPayloadBytes: 4096 };

function readAll(bytes: Buffer, byteByByte = false) {
  const reader = new FrameReader(limits);
  if (!byteByByte) return reader.push(bytes);
  const out = [];
  for (const b of bytes) out.push(...reader.push(Buffer.from([b])));
  return out;
}

describe("Wyoming frame reader", () => {
  it("reads inline data, data_length blocks and payloads, whole or a byte at a time", () => {
    const payload = Buffer.from([1, 2, 3, 4, 5, 6]);
    const bytes = Buffer.concat([
      frame("describe", undefined),
      frame("synthesize", { text: "Hi there.", voice: { name: "flite:slt", speaker: null } }, "inline"),
      frame("synthesize", { text: "Grüße, 世界." }, "data_length"),
      frame("audio-chunk", { rate: 16000, width: 2, channels: 1, timestamp: null }, "data_length", payload),
    ]);
    for (const byteByByte of [false, true]) {
      const events = readAll(bytes, byteByByte);
      expect(events.map((e) => e.type)).toEqual(["describe", "synthesize", "synthesize", "audio-chunk"]);
      expect(events[0]!.data).toEqual({});
      expect(events[1]!.data).toEqual({ text: "Hi there.", voice: { name: "flite:slt", speaker: null } });
      expect(events[2]!.data).toEqual({ text: "Grüße, 世界." });
      expect(events[3]!.data).toMatchObject({ rate: 16000, timestamp: null });
      expect(events[3]!.payload).toEqual(payload);
    }
  });

  it("merges the data block over inline data and ignores unknown header keys", () => {
    const block = Buffer.from(JSON.stringify({ text: "from the block" }));
    const header = JSON.stringify({
      type: "synthesize",
      version: "9.9",
      extra: [1],
      data: { text: "inline", voice: { name: "x" } },
      data_length: block.length,
    });
    const [event] = readAll(Buffer.concat([Buffer.from(`${header}\n`), block]));
    expect(event!.data).toEqual({ text: "from the block", voice: { name: "x" } });
  });

  it("keeps a partial event until its bytes arrive, and tolerates blank lines", () => {
    const reader = new FrameReader(limits);
    const bytes = frame("synthesize", { text: "Hello." });
    expect(reader.push(Buffer.from("\n\r\n"))).toEqual([]);
    expect(reader.push(bytes.subarray(0, bytes.length - 3))).toEqual([]);
    expect(reader.idle).toBe(false);
    expect(reader.push(bytes.subarray(bytes.length - 3))[0]!.data).toEqual({ text: "Hello." });
    expect(reader.idle).toBe(true);
  });

  const bad: [string, Buffer, string, RegExp][] = [
    ["bad JSON header", Buffer.from('{"type": "describe"\n'), "CHORUS_ERR_REQUEST_MALFORMED", /not valid JSON/],
    ["a header that is not an object", Buffer.from("[1,2]\n"), "CHORUS_ERR_REQUEST_MALFORMED", /JSON object/],
    ["a header without type", Buffer.from('{"data": {}}\n'), "CHORUS_ERR_REQUEST_MALFORMED", /'type'/],
    ["inline data that is not an object", Buffer.from('{"type": "x", "data": "text"}\n'), "CHORUS_ERR_REQUEST_MALFORMED", /'data'/],
    ["a negative data_length", Buffer.from('{"type": "x", "data_length": -1}\n'), "CHORUS_ERR_REQUEST_MALFORMED", /non-negative integer/],
    ["a fractional payload_length", Buffer.from('{"type": "x", "payload_length": 1.5}\n'), "CHORUS_ERR_REQUEST_MALFORMED", /non-negative integer/],
    [
      "a data_length over the limit",
      Buffer.from('{"type": "x", "data_length": 999999}\n'),
      "CHORUS_ERR_REQUEST_TOO_LARGE",
      /data_length is 999999 bytes; the limit is 2048/,
    ],
    ["a payload_length over the limit", Buffer.from('{"type": "x", "payload_length": 5000}\n'), "CHORUS_ERR_REQUEST_TOO_LARGE", /payload_length/],
    ["a header line over the limit", Buffer.from(`{"type": "x", "data": {"text": "${"a".repeat(2000)}`), "CHORUS_ERR_REQUEST_TOO_LARGE", /header line/],
    [
      "a data block shorter than its length (the next header read as data)",
      Buffer.concat([Buffer.from('{"type": "synthesize", "data_length": 30}\n{"text": "hi"}\n'), frame("describe", undefined)]),
      "CHORUS_ERR_REQUEST_MALFORMED",
      /data block is not valid JSON/,
    ],
    [
      "a data block that is not an object",
      Buffer.concat([Buffer.from('{"type": "x", "data_length": 2}\n'), Buffer.from("[]")]),
      "CHORUS_ERR_REQUEST_MALFORMED",
      /must be a JSON object/,
    ],
  ];
  for (const [what, bytes, code, message] of bad) {
    it(`rejects ${what}`, () => {
      let error: unknown;
      try {
        readAll(bytes);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(FrameError);
      expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
    });
  }
});

describe("Wyoming frame writer", () => {
  it("writes like the Python library: data in a data_length block, payload_length only with a payload", () => {
    const bytes = encodeEvent("audio-chunk", { rate: 22050, width: 2, channels: 1 }, new Uint8Array([9, 8, 7, 6]));
    const nl = bytes.indexOf(0x0a);
    const header = JSON.parse(bytes.subarray(0, nl).toString());
    const data = Buffer.from(JSON.stringify({ rate: 22050, width: 2, channels: 1 }));
    expect(header).toEqual({ type: "audio-chunk", version: expect.any(String), data_length: data.length, payload_length: 4 });
    expect(bytes.subarray(nl + 1, nl + 1 + data.length).toString()).toBe(data.toString());
    expect([...bytes.subarray(nl + 1 + data.length)]).toEqual([9, 8, 7, 6]);
    const bare = JSON.parse(encodeEvent("synthesize-stopped").toString().trim());
    expect(Object.keys(bare).sort()).toEqual(["type", "version"]);
    // Round trip through the reader.
    const [event] = readAll(Buffer.concat([encodeEvent("error", { text: "ünïcode", code: "X" })]));
    expect(event).toMatchObject({ type: "error", data: { text: "ünïcode", code: "X" } });
  });
});

describe("Wyoming language tags", () => {
  it("writes Chorus tags in the form Home Assistant groups by", async () => {
    const { wyomingLanguage } = await import("../../core/wyoming/voices.ts");
    expect(["en-us", "de", "pt-br", "cmn-latn-pinyin", "en-gb-x-rp", "es-419", "EN_us"].map(wyomingLanguage)).toEqual([
      "en_US",
      "de",
      "pt_BR",
      "cmn_Latn_pinyin",
      "en_GB_x_rp",
      "es_419",
      "en_US",
    ]);
  });
});
