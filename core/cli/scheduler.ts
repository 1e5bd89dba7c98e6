/**
 * `chorus engine pin|unpin|unload|lowvram|keepalive ID [...]` and `chorus engine status`:
 * scheduler controls, talking to the running server over HTTP (default
 * http://127.0.0.1:7851, or --url).
 */
import { ChorusError } from "../errors.ts";

export const ENGINE_USAGE = `  engine status               devices, loaded engines and recent decisions of a running server
  engine pin|unpin ID         keep ID loaded (never evicted or expired) / release the pin
  engine unload ID            unload ID now (after its running requests)
  engine lowvram ID on|off    low-VRAM mode: skip GPU profiles that keep the whole model resident
  engine keepalive ID SECONDS idle seconds before unloading (0 = at once, -1 = never, default = config)
        [--url http://127.0.0.1:7851]`;

export class EngineUsageError extends Error {}
/** No server answered at --url: a failure (exit 1), not bad usage. */
export class ServerUnreachableError extends Error {}

export interface EngineCommandOptions {
  url?: string;
  json?: boolean;
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
      res = await doFetch(`${base}${path}`, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
    } catch (err) {
      throw new ServerUnreachableError(`cannot reach the Chorus server at ${base}: ${(err as Error).message} (is \`chorus serve\` running? --url)`);
    }
    const data = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    if (!res.ok) throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${data.error?.message ?? res.statusText} (HTTP ${res.status}${data.error ? `, ${data.error.code}` : ""})`);
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
      if (value !== "on" && value !== "off") throw new EngineUsageError("engine lowvram ID on|off");
      result = await call("POST", path, { enabled: value === "on" });
      break;
    }
    case "keepalive": {
      const path = `/api/scheduler/engines/${needId()}/keepalive`;
      const seconds = value === "default" ? null : Number(value);
      if (seconds !== null && (!Number.isFinite(seconds) || seconds < -1)) throw new EngineUsageError("engine keepalive ID SECONDS (-1, 0, N or default)");
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
  devices?: { id: string; name: string; totalMb: number; freeMb: number; heldByOthersMb: number; reserveMb: number; holdings: { engine: string; profile: string; residentMb: number; transientMb: number }[] }[];
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
  for (const e of s.engines ?? []) lines.push(`  ${`${e.engine}:${e.profile}`.padEnd(24)} ${e.device.padEnd(7)} ${e.state.padEnd(9)} in flight ${e.inFlight}, queued ${e.queued}${e.pinned ? ", pinned" : e.unloadAt ? `, unloads ${e.unloadAt}` : ""}`);
  if (!s.engines?.length) lines.push("  (none loaded)");
  lines.push("Recent decisions:");
  for (const d of s.decisions ?? []) lines.push(`  ${d.at} ${d.action} ${d.engine}${d.profile ? `:${d.profile}` : ""} ${d.reason}${d.detail ? ` - ${d.detail}` : ""}`);
  return lines.join("\n");
}
