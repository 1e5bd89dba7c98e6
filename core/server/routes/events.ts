/**
 * GET /api/scheduler/events: the scheduler as server-sent events, for the web dashboard.
 * - `snapshot`: what GET /api/scheduler shows plus the plugins and the default engine; the
 *   first one on connect carries the recent decisions; then one shortly after every change
 *   (decision, plugin change) and one every `HEARTBEAT_MS` (in-flight counts, free memory).
 * - `decision`: each scheduling decision as it is made (`id:` is its sequence number).
 * One feed (`Feed`) per server: it subscribes to the decision log and the registry only while clients
 * are connected. A client that cannot keep up (more than `MAX_BACKLOG` bytes unsent) is cut
 * off; on reconnecting it gets a fresh snapshot.
 */
import type { ServerResponse } from "node:http";
import type { FastifyPluginAsync } from "fastify";
import type { Host } from "../../host.ts";
import { engineState } from "../../registry/engine-state.ts";
import { REASONS, type Decision } from "../../scheduler/decisions.ts";

const HEARTBEAT_MS = 2000;
const COALESCE_MS = 40;
/** Snapshots after changes come at most this often (a busy queue makes many decisions). */
const MIN_INTERVAL_MS = 250;
const MAX_BACKLOG = 512 * 1024;
const FIRST_DECISIONS = 50;

/**
 * Plugins as the dashboard lists them (the states of GET /api/engines: registry/engine-state.ts).
 * `needsSetup` (file reads and a hash of the requirement files) runs once per plugin per
 * snapshot: its answer serves both the state and the errors; one snapshot goes to every client.
 */
export function pluginSummaries(host: Host) {
  const selected = host.registry.selection.current();
  return host.registry.list().map((entry) => {
    // A Python engine without its environment cannot run: say so, with the command to run.
    const setup = host.registry.needsSetup(entry);
    return {
      id: entry.id,
      name: entry.manifest?.name ?? entry.id,
      version: entry.manifest?.version ?? null,
      state: engineState(entry, setup, host.scheduler.isLoaded(entry.id)),
      default: entry.id === selected,
      generation: entry.generation,
      errors: [...host.registry.problems(entry), ...(setup ? [`needs setup (${setup.reason}): run ${setup.command}`] : [])],
    };
  });
}

/** A decision with its reason in words (`summary`), as the dashboard shows it. */
const described = (d: Decision) => ({ ...d, summary: REASONS[d.reason] ?? d.reason });

function frame(event: string, data: unknown, id?: number): string {
  return `event: ${event}\n${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

export class Feed {
  private readonly clients = new Set<ServerResponse>();
  private stop: (() => void) | undefined;
  private pending: NodeJS.Timeout | undefined;
  private lastSnapshot = 0;

  constructor(private readonly host: Host) {}

  private snapshot(decisions: number): string {
    const snap = this.host.scheduler.snapshot(decisions);
    return frame("snapshot", {
      at: new Date().toISOString(),
      defaultEngine: this.host.registry.selection.current(),
      scheduler: { ...snap, decisions: snap.decisions.map(described) },
      plugins: pluginSummaries(this.host),
    });
  }

  add(res: ServerResponse): void {
    this.clients.add(res);
    res.on("close", () => this.remove(res));
    this.write(res, `retry: 2000\n\n${this.snapshot(FIRST_DECISIONS)}`);
    if (!this.stop) this.start();
  }

  private remove(res: ServerResponse): void {
    this.clients.delete(res);
    if (!this.clients.size) {
      this.stop?.();
      this.stop = undefined;
    }
  }

  private start(): void {
    const { scheduler, registry } = this.host;
    const onDecision = (d: Decision) => {
      this.broadcast(frame("decision", described(d), d.seq));
      this.soon();
    };
    const onChange = () => this.soon();
    const unsubscribe = scheduler.decisions.subscribe(onDecision);
    registry.on("change", onChange);
    const heartbeat = setInterval(() => this.broadcast(this.snapshot(0)), HEARTBEAT_MS);
    this.stop = () => {
      unsubscribe();
      registry.off("change", onChange);
      clearInterval(heartbeat);
      clearTimeout(this.pending);
      this.pending = undefined;
    };
  }

  /** One snapshot after a burst of changes (a load is several decisions in a row). */
  private soon(): void {
    if (this.pending) return;
    const wait = Math.max(COALESCE_MS, this.lastSnapshot + MIN_INTERVAL_MS - Date.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.broadcast(this.snapshot(0));
    }, wait);
  }

  private broadcast(text: string): void {
    if (text.startsWith("event: snapshot")) this.lastSnapshot = Date.now();
    for (const res of this.clients) this.write(res, text);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.destroyed) return;
    if (res.writableLength > MAX_BACKLOG) {
      res.destroy(); // a stalled client: it reconnects and starts from a fresh snapshot
      return;
    }
    res.write(text);
  }

  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.stop?.();
    this.stop = undefined;
  }
}

export const eventRoutes: FastifyPluginAsync = async (app) => {
  const feed = new Feed(app.host);
  app.addHook("preClose", async () => feed.close()); // open streams would hold up the server's close

  // No HEAD: the automatic one would open a subscription that never sends its headers (and never ends).
  app.get("/api/scheduler/events", { exposeHeadRoute: false }, async (request, reply) => {
    const headers = { ...reply.getHeaders() } as Record<string, string>; // CORS, set by the access hook
    reply.hijack();
    reply.raw.writeHead(200, {
      ...headers,
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
      Connection: "keep-alive",
    });
    request.raw.socket.setNoDelay(true);
    feed.add(reply.raw);
  });
};
