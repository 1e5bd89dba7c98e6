/** Prometheus metrics of one scheduler (its own prom-client registry, served at GET /metrics). */
import client from "prom-client";

export class SchedulerMetrics {
  readonly registry = new client.Registry();
  readonly queueLength = new client.Gauge({ name: "chorus_scheduler_queue_length", help: "Requests waiting for a placement", registers: [this.registry] });
  readonly loaded = new client.Gauge({ name: "chorus_scheduler_loaded_engines", help: "Engine instances loaded or loading", registers: [this.registry] });
  readonly loads = new client.Counter({
    name: "chorus_scheduler_loads_total",
    help: "Engine loads by result",
    labelNames: ["engine", "profile", "result"],
    registers: [this.registry],
  });
  readonly evictions = new client.Counter({
    name: "chorus_scheduler_evictions_total",
    help: "Engines unloaded, by reason",
    labelNames: ["engine", "reason"],
    registers: [this.registry],
  });
  readonly fallbacks = new client.Counter({
    name: "chorus_scheduler_fallbacks_total",
    help: "Leases served by a fallback",
    labelNames: ["requested", "engine", "profile"],
    registers: [this.registry],
  });
  readonly ooms = new client.Counter({
    name: "chorus_scheduler_ooms_total",
    help: "Out-of-memory reports",
    labelNames: ["engine", "profile", "phase"],
    registers: [this.registry],
  });
  readonly refusals = new client.Counter({
    name: "chorus_scheduler_refusals_total",
    help: "Requests refused, by reason",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  readonly leaseWait = new client.Histogram({
    name: "chorus_scheduler_lease_wait_seconds",
    help: "Time from asking for a lease to getting it",
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly synthesis = new client.Histogram({
    name: "chorus_synthesis_seconds",
    help: "Time a lease was held (synthesis), per engine",
    labelNames: ["engine"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
}
