/** Small statistics helpers for the benchmarks. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: number[]) => percentile(values, 50);

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

/** Prints an aligned table. */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ")).join("\n");
}

import http from "node:http";

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** Closes the keep-alive sockets of httpRequest (run.ts, at the end). */
export function closeHttpAgent(): void {
  agent.destroy();
}

/**
 * A lean HTTP client (node:http, keep-alive): measures the server, not a client library.
 * `countOnly`: the body is read and counted (`bytes`), not kept (`body` is then empty unless the status is not 2xx).
 */
export function httpRequest(
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string>; countOnly?: boolean } = {},
): Promise<{ status: number; body: Buffer; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers, agent }, (res) => {
      const parts: Buffer[] = [];
      let bytes = 0;
      const keep = !options.countOnly || (res.statusCode ?? 0) >= 300;
      res.on("data", (d: Buffer) => {
        bytes += d.length;
        if (keep) parts.push(d);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), bytes }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
