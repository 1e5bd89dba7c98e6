/**
 * What the fuzz tests send: every route, with bodies, queries and headers built from
 * well-formed-but-wrong to garbage (malformed JSON and forms, huge and deeply nested bodies,
 * invalid UTF-8, lone surrogates, extreme numbers). Engine ids are limited to espeak and junk,
 * so a valid request costs one short synthesis at most.
 */
import fc from "fast-check";

/** Any value as form/query text (objects from fc.dictionary may have no prototype). */
const str = (v: unknown): string => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));

export const ROUTES: { method: string; path: string }[] = [
  ...[
    "/health",
    "/",
    "/api/engines",
    "/api/voices",
    "/api/scheduler",
    "/metrics",
    "/v1/models",
    "/v1/audio/models",
    "/v1/audio/voices",
    "/api/ready",
    "/api/currentsettings",
    "/api/rvcvoices",
    "/api/tts-generate-streaming",
    "/audio/:file",
    "/no/such/route",
  ].map((path) => ({ method: "GET", path })),
  ...[
    "/api/speech",
    "/v1/audio/speech",
    "/api/tts-generate",
    "/api/tts-generate-streaming",
    "/api/previewvoice",
    "/api/reload",
    "/api/lowvramsetting",
    "/api/deepspeed",
    "/api/engines/:id/activate",
    "/api/scheduler/engines/:id/pin",
    "/api/scheduler/engines/:id/unpin",
    "/api/scheduler/engines/:id/unload",
    "/api/scheduler/engines/:id/lowvram",
    "/api/scheduler/engines/:id/keepalive",
  ].map((path) => ({ method: "POST", path })),
  { method: "PUT", path: "/api/stop-generation" },
  { method: "DELETE", path: "/api/speech" },
  { method: "OPTIONS", path: "/api/speech" },
];

const extremeNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, 0.25, 4, 4.0000001),
  fc.double(),
  fc.integer(),
);

/** Strings with the awkward parts: lone surrogates, controls, NUL, RTL marks, emoji, long runs. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("\ud800", "a\udfffb", "\u0000", "\u202e", "🙂🙂", "../../etc/passwd", "%00", "espeak", "en-us", "Hello there.", " ", ""),
  fc.string({ unit: fc.constantFrom("a", " ", ".", "\n"), maxLength: 200 }),
);

const value: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  extremeNumber,
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3, noNullPrototype: true }),
);

const FIELDS = [
  "text",
  "engine",
  "voice",
  "speed",
  "pitch",
  "format",
  "stream",
  "options",
  "fallback",
  "keepAlive",
  "seconds",
  "on",
  "model",
  "input",
  "response_format",
  "stream_format",
  "instructions",
  "text_input",
  "character_voice_gen",
  "language",
  "output_file_name",
  "output_file_timestamp",
  "text_filtering",
  "narrator_enabled",
  "voice",
  "tts_method",
];

/** An object with known field names and wrong-ish values (valid ones now and then). */
const shaped = fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 }).map((o) => {
  // keep real synthesis short and on espeak
  if (typeof o.text === "string") o.text = o.text.slice(0, 60);
  if (typeof o.input === "string") o.input = o.input.slice(0, 60);
  if (typeof o.engine === "string" && o.engine.length > 2) o.engine = "espeak";
  return o;
});

/** JSON nested `depth` levels deep, written out directly (stringify would recurse that deep). */
function nested(depth: number): string {
  return `${'{"a":['.repeat(depth)}1${"]}".repeat(depth)}`;
}

export type Body = { payload?: string | Buffer; contentType?: string };

export const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 4, arbitrary: shaped.map((o) => ({ payload: JSON.stringify(o), contentType: "application/json" })) },
  {
    weight: 2,
    arbitrary: shaped.map((o) => ({
      payload: new URLSearchParams(Object.entries(o).map(([k, v]) => [k, str(v)])).toString(),
      contentType: "application/x-www-form-urlencoded",
    })),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ payload: JSON.stringify(v), contentType: "application/json" })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => ({ payload: s, contentType: "application/json" })) }, // malformed JSON
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.uint8Array({ maxLength: 80 }),
        fc.constantFrom("application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", "application/octet-stream"),
      )
      .map(([b, contentType]) => ({ payload: Buffer.from(b), contentType })),
  }, // invalid UTF-8
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      { payload: nested(5000), contentType: "application/json" },
      { payload: `{"text":"${"a".repeat(1_100_000)}"}`, contentType: "application/json" },
      { payload: `{"text":"${"word ".repeat(2000)}","engine":"espeak"}`, contentType: "application/json" },
      { payload: '{"text":"\\ud800 lone","engine":"espeak"}', contentType: "application/json" },
      { payload: Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), contentType: "application/json; charset=utf-8" },
      { payload: '--x\r\nContent-Disposition: form-data; name="text_input"\r\n\r\nhi\r\n--x--', contentType: "multipart/form-data; boundary=x" },
      { payload: "a=1&a=2&text_input=%ZZ", contentType: "application/x-www-form-urlencoded" },
      { payload: "", contentType: "application/json" },
    ),
  },
  { weight: 1, arbitrary: fc.constant({}) },
);

export const query: fc.Arbitrary<string> = fc.oneof(
  fc.constant(""),
  fc
    .dictionary(
      fc.constantFrom("engine", "model", "load", "decisions", "text", "voice", "language", "tts_method", "output_file", "x"),
      fc.oneof(nastyString, extremeNumber.map(String)),
      { maxKeys: 3 },
    )
    .map((q) => `?${new URLSearchParams(Object.entries(q).map(([k, v]) => [k, str(v).slice(0, 60)])).toString()}`),
  fc.constantFrom("?%", "?a=%E0%A4%A", "?engine=espeak&engine=x", "?decisions=-1", "?decisions=1e400", `?text=${"x".repeat(3000)}`),
);

export const param: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("espeak", "nope", "%2e%2e", "..%2f..%2fetc", "a".repeat(120), "x.wav", "%E0%A4%A", "%00"),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);

export const headers: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom("accept", "origin", "authorization", "range", "x-forwarded-for", "accept-encoding", "cache-control", "cookie"),
  fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("bytes=0-", "bytes=-1", "bytes=99999999-", "Bearer", "http://evil.example", "*/*", "gzip, br")),
  { maxKeys: 3 },
);

export const request = fc.record({ route: fc.constantFrom(...ROUTES), body, query, param, headers });

/** Is `body` an error in the shape its API promises? */
export function catalogueShaped(url: string, body: unknown): boolean {
  const error = (body as { error?: Record<string, unknown> })?.error;
  if (!error || typeof error !== "object" || typeof error.message !== "string" || !error.message) return false;
  if (url.startsWith("/v1/")) return "type" in error && "param" in error && "code" in error;
  return typeof error.code === "string" && /^CHORUS_ERR_[A-Z_]+$/.test(error.code);
}
