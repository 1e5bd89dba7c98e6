/**
 * The dashboard's memory bar: a device's total split into what other processes hold, the
 * reserve, each engine's holding (resident, and per-request memory while it runs) and free
 * memory. Pure (tests/web/memory.test.ts). `device` is one of GET /api/scheduler's devices.
 */

/**
 * Segments in bar order, each `{kind, label, mb, percent}`; kinds: `others`, `reserve`,
 * `resident`, `transient`, `free`. Their percents never add up past 100: on a card the
 * scheduler has over-committed (or where the numbers are stale) the last parts are cut.
 */
export function memorySegments(device) {
  const total = Math.max(0, Number(device.totalMb) || 0);
  const parts = [];
  if (device.kind !== "cpu") {
    parts.push({ kind: "others", label: "other processes", mb: device.heldByOthersMb ?? 0 });
    parts.push({ kind: "reserve", label: "reserve", mb: device.reserveMb ?? 0 });
  }
  for (const h of device.holdings ?? []) {
    parts.push({ kind: "resident", label: `${h.engine}:${h.profile}`, engine: h.engine, mb: h.residentMb ?? 0 });
    if (h.transientMb) parts.push({ kind: "transient", label: `${h.engine}:${h.profile} per request`, engine: h.engine, mb: h.transientMb });
  }
  const used = parts.reduce((n, p) => n + p.mb, 0);
  const free = device.kind === "cpu" ? Math.max(0, total - used) : Math.max(0, Math.min(device.freeMb ?? total - used, total - used));
  parts.push({ kind: "free", label: "free", mb: free });
  let left = 100;
  return parts
    .filter((p) => p.mb > 0)
    .map((p) => {
      const percent = total ? Math.min(left, (100 * p.mb) / total) : 0;
      left -= percent;
      return { ...p, mb: Math.round(p.mb), percent };
    });
}

/** `512 MB`, `1.5 GB`. */
export function formatMb(mb) {
  const n = Number(mb) || 0;
  return n >= 1024 ? `${(n / 1024).toFixed(n >= 10240 ? 0 : 1)} GB` : `${Math.round(n)} MB`;
}

/** A stable hue per engine id, so an engine has one colour across bars and lists. */
export function engineHue(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return (h + 200) % 360;
}

/** `4 m 05 s`, `12 s`, `now`, for an ISO time ahead of `now` (ms); null for none. */
export function timeUntil(iso, now = Date.now()) {
  if (!iso) return null;
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (!(s > 0)) return "now";
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} m`;
}
