/** The Wyoming server's settings (`wyoming.*`, docs/wyoming.md). */
import { z } from "zod";

export const WyomingSchema = z.strictObject({
  /** Start the Wyoming TCP server inside `chorus serve`. */
  enabled: z.boolean().default(false),
  /** Loopback by default; 0.0.0.0 (or the machine's LAN address) lets a Home Assistant on the LAN connect. */
  host: z.string().min(1).default("127.0.0.1"),
  /** 10200 is wyoming-piper's port, the one Home Assistant users expect for TTS. */
  port: z.number().int().min(0).max(65535).default(10200),
  /** Open connections at most; one more gets an error event and is closed. */
  maxConnections: z.number().int().positive().default(32),
  /** Largest header line, bytes (inline `data` included). */
  maxHeaderBytes: z.number().int().min(256).default(65_536),
  /** Largest `data_length` block, bytes (raise it with text.maxLength). */
  maxDataBytes: z.number().int().min(256).default(262_144),
  /** Largest `payload_length` a client may send, bytes (a TTS server expects none). */
  maxPayloadBytes: z.number().int().min(0).default(262_144),
  /** Samples per `audio-chunk` (wyoming-piper's default: 1024). */
  samplesPerChunk: z.number().int().min(64).max(65_536).default(1024),
  /** Output rate in Hz for every request; null: the rate of the voice (constant within a request). */
  sampleRate: z.number().int().min(8000).max(192_000).nullable().default(null),
  /** A connection with no event for this long is closed; 0: never. */
  idleTimeoutSeconds: z.number().min(0).default(300),
  /** At start, ask every engine for its voices (loads each once; idle ones unload after keepAliveSeconds). */
  warmVoices: z.boolean().default(true),
  /** Advertise `_wyoming._tcp.local.` over mDNS (zeroconf), as `zeroconfName`. */
  zeroconf: z.boolean().default(false),
  zeroconfName: z.string().min(1).max(63).default("chorus"),
});
export type WyomingConfig = z.infer<typeof WyomingSchema>;
