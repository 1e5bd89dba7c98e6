/**
 * The byte-stream framing of the engine protocol (docs/protocol.md, "Framing"): a JSON header
 * line, then `payloadLength` raw bytes. What a runtime in another language must produce and
 * accept, byte for byte.
 */
import { describe, expect, it } from "vitest";
import {
  FrameDecoder,
  MAX_HEADER_BYTES,
  MAX_PAYLOAD_BYTES,
  ProtocolError,
  encodeFrame,
  payloadToSamples,
  samplesToPayload,
} from "../../core/registry/framing.ts";

const bytes = (parts: Buffer[]) => Buffer.concat(parts);

describe("framing", () => {
  it("encodes a header line and a payload exactly as documented", () => {
    const samples = Int16Array.from([1000, -1000, 0, 10000]);
    const frame = bytes(encodeFrame({ type: "chunk", id: 7, sampleRate: 22050 }, samplesToPayload(samples)));
    expect(frame.toString("latin1")).toBe(
      `{"type":"chunk","id":7,"sampleRate":22050,"payloadLength":8}\n${Buffer.from([0xe8, 0x03, 0x18, 0xfc, 0, 0, 0x10, 0x27]).toString("latin1")}`,
    );
    expect(bytes(encodeFrame({ type: "ping", id: 1 })).toString()).toBe('{"type":"ping","id":1}\n');
  });

  it("decodes frames split at any byte, and several in one read", () => {
    const samples = Int16Array.from({ length: 999 }, (_, i) => i - 500);
    const stream = bytes([
      ...encodeFrame({ type: "log", level: "info", msg: "line one\nline two" }),
      ...encodeFrame({ type: "chunk", id: 3, sampleRate: 16000 }, samplesToPayload(samples)),
      ...encodeFrame({ type: "result", id: 3 }),
    ]);
    for (const step of [1, 2, 7, 1000, stream.length]) {
      const decoder = new FrameDecoder();
      const frames = [];
      for (let at = 0; at < stream.length; at += step) frames.push(...decoder.push(stream.subarray(at, at + step)));
      expect(frames.map((f) => f.header.type)).toEqual(["log", "chunk", "result"]);
      expect(frames[0]!.header.msg).toBe("line one\nline two"); // an escaped newline is no frame end
      expect(Array.from(payloadToSamples(frames[1]!.payload))).toEqual(Array.from(samples));
      expect(frames[2]!.payload).toBeUndefined();
    }
  });

  it("refuses what breaks the limits or the shape", () => {
    expect(() => new FrameDecoder().push(Buffer.from("not json\n"))).toThrow(ProtocolError);
    expect(() => new FrameDecoder().push(Buffer.from("[1,2]\n"))).toThrow(/JSON object/);
    expect(() => new FrameDecoder().push(Buffer.from('{"id":1}\n'))).toThrow(/type/);
    expect(() => new FrameDecoder().push(Buffer.from('{"type":"chunk","payloadLength":-1}\n'))).toThrow(/payloadLength/);
    expect(() => new FrameDecoder().push(Buffer.from(`{"type":"chunk","payloadLength":${MAX_PAYLOAD_BYTES + 1}}\n`))).toThrow(/exceeds/);
    expect(() => new FrameDecoder().push(Buffer.alloc(MAX_HEADER_BYTES + 2, 0x20))).toThrow(/header line longer/);
    expect(() => payloadToSamples(Buffer.alloc(3))).toThrow(/odd length/);
  });
});
