/**
 * Signed, short-lived links to generated audio files. With `compat.apiKey` set, an <audio>
 * element cannot send the key, so the file URLs the AllTalk API hands out carry
 * `?token=EXPIRES.SIGNATURE` (HMAC-SHA256 of the file name and expiry, keyed by the API key);
 * the access check (cors.ts) lets `GET /audio/NAME` through with a valid, unexpired token for
 * that name. Lifetime: compat.alltalk.maxAgeMinutes (the file's own retention).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

function signature(name: string, expires: number, key: string): string {
  return createHmac("sha256", `chorus-audio:${key}`).update(`${name}\n${expires}`).digest("base64url");
}

export function audioToken(name: string, key: string, ttlSeconds: number, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + Math.max(1, Math.round(ttlSeconds));
  return `${expires}.${signature(name, expires, key)}`;
}

export function audioTokenValid(name: string, token: string | undefined, key: string, now = Date.now()): boolean {
  const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token ?? "");
  if (!m) return false;
  const expires = Number(m[1]);
  if (expires * 1000 < now) return false;
  const given = Buffer.from(m[2]!);
  const want = Buffer.from(signature(name, expires, key));
  return given.length === want.length && timingSafeEqual(given, want);
}
