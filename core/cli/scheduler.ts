/**
 * `chorus engine pin|unpin|unload|lowvram|keepalive ID [...]` and `chorus engine status`:
 * scheduler controls, talking to the running server over HTTP: `--url`, or the configured
 * server.host and server.port (with compat.apiKey), as `serve` reads them.
 */
import { UsageError } from "./usage.ts";

export class EngineUsageError extends UsageError {
  constructor(message: string) {
    super(message, "engine");
  }
}
/** No server answered at --url: a failure (exit 1), not bad usage. */
export class ServerUnreachableError extends Error {}

/** The server answered with an error: its message and its one catalogue code. */
export class ServerError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ServerError";
  }
}

export interface EngineCommandOptions {
  url?: string;
  json?: boolean;
  /** Headers every request carries (the API key). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  out?: (text: string) => void;
}

export async function engineCommand(args: string[], options: EngineCommandOptions = {}): Promise<number> {
  const base = (options.url ?? "http://127.0.0.1:7851").replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  const out = options.out ?? ((t: string) => void process.stdout.write(`${t}\n`));
  const [action, id, value] = args;
  const call = async (method: "GET" | "POST", path: string, body?: unknown) => {
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers: { ...options.headers, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new ServerUnreachableError(
        `cannot reach the Chorus server at ${base}: ${(err as Error).message} (is \`chorus serve\` running there? the address comes from server.host/server.port, or --url)`,
      );
    }
    const data = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    if (!res.ok) throw new ServerError(`${data.error?.message ?? res.statusText} (HTTP ${res.status})`, data.error?.code ?? `HTTP_${res.status}`, res.status);
    return data as Record<string, unknown>;
  };
  const needId = () => {
    if (!id) throw new EngineUsageError(`engine ${action}: missing engine id`);
    return encodeURIComponent(id);
  };
  let result: Record<string, unknown>;
  switch (action) {
    case "status": {
      result = await call("GET", "/api/scheduler?decisions=10");
      if (!options.json) {
        out(summary(result));
        return 0;
      }
      break;
    }
    case "pin":
    case "unpin":
    case "unload":
      result = await call("POST", `/api/scheduler/engines/${needId()}/${action}`);
      break;
    case "lowvram": {
      const path = `/api/scheduler/engines/${needId()}/lowvram`;
      if (value !== "on" && value !== "off") throw new EngineUsageError(`engine lowvram needs on or off${value ? ` (got '${value}')` : ""}`);
      result = await call("POST", path, { enabled: value === "on" });
      break;
    }
    case "keepalive": {
      const path = `/api/scheduler/engines/${needId()}/keepalive`;
      const seconds = value === "default" ? null : Number(value);
      if (seconds !== null && (value === undefined || !Number.isFinite(seconds) || seconds < -1))
        throw new EngineUsageError(`engine keepalive needs SECONDS: -1, 0, N or default${value ? ` (got '${value}')` : ""}`);
      result = await call("POST", path, { seconds });
      break;
    }
    default:
      throw new EngineUsageError(`unknown engine command '${action ?? ""}'`);
  }
  out(JSON.stringify(result, null, options.json ? 2 : undefined));
  return 0;
}

type Snapshot = {
  devices?: {
    id: string;
    name: string;
    totalMb: number;
    freeMb: number;
    heldByOthersMb: number;
    reserveMb: number;
    holdings: { engine: string; profile: string; residentMb: number; transientMb: number }[];
  }[];
  engines?: { engine: string; profile: string; device: string; state: string; inFlight: number; queued: number; pinned: boolean; unloadAt: string | null }[];
  decisions?: { at: string; action: string; reason: string; engine: string; profile?: string; detail?: string }[];
};

function summary(raw: Record<string, unknown>): string {
  const s = raw as Snapshot;
  const lines: string[] = ["Devices:"];
  for (const d of s.devices ?? []) {
    lines.push(`  ${d.id.padEnd(7)} ${d.name}: ${d.totalMb} MB total, ${d.freeMb} MB free, others ${d.heldByOthersMb} MB, reserve ${d.reserveMb} MB`);
    for (const h of d.holdings) lines.push(`          ${h.engine}:${h.profile} ${h.residentMb} MB${h.transientMb ? ` + ${h.transientMb} MB running` : ""}`);
  }
  lines.push("Engines:");
  for (const e of s.engines ?? [])
    lines.push(
      `  ${`${e.engine}:${e.profile}`.padEnd(24)} ${e.device.padEnd(7)} ${e.state.padEnd(9)} in flight ${e.inFlight}, queued ${e.queued}${e.pinned ? ", pinned" : e.unloadAt ? `, unloads ${e.unloadAt}` : ""}`,
    );
  if (!s.engines?.length) lines.push("  (none loaded)");
  lines.push("Recent decisions:");
  for (const d of s.decisions ?? [])
    lines.push(`  ${d.at} ${d.action} ${d.engine}${d.profile ? `:${d.profile}` : ""} ${d.reason}${d.detail ? ` - ${d.detail}` : ""}`);
  return lines.join("\n");
}
