/**
 * Wyoming metrics, in the host's Prometheus registry (GET /metrics):
 * connections open, requests by kind and result, frames refused.
 */
import client, { type Registry } from "prom-client";

export interface WyomingMetrics {
  connections: client.Gauge;
  requests: client.Counter<"kind" | "result">;
  protocolErrors: client.Counter<"code">;
}

/** The same metric objects for every Wyoming server on one registry (a restarted server reuses them). */
export function wyomingMetrics(registry: Registry): WyomingMetrics {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    connections:
      existing<client.Gauge>("chorus_wyoming_connections") ??
      new client.Gauge({ name: "chorus_wyoming_connections", help: "Wyoming connections open", registers: [registry] }),
    requests:
      existing<client.Counter<"kind" | "result">>("chorus_wyoming_requests_total") ??
      new client.Counter({
        name: "chorus_wyoming_requests_total",
        help: "Wyoming requests by kind (describe, synthesize, stream) and result (ok, error, cancelled)",
        labelNames: ["kind", "result"],
        registers: [registry],
      }),
    protocolErrors:
      existing<client.Counter<"code">>("chorus_wyoming_protocol_errors_total") ??
      new client.Counter({
        name: "chorus_wyoming_protocol_errors_total",
        help: "Wyoming connections closed for a malformed frame, or refused over maxConnections",
        labelNames: ["code"],
        registers: [registry],
      }),
  };
}
