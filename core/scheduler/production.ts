/**
 * The production scheduler: the facade (scheduler.ts) wired to the registry (engines start in
 * their own worker), nvidia-smi (or simulated GPUs from the config) and the system clock.
 */
import type { Logger } from "pino";
import type { Config } from "../config/schema.ts";
import type { Registry } from "../registry/registry.ts";
import { systemClock } from "./clock.ts";
import { NvidiaSmiProbe, noGpuProbe } from "./devices.ts";
import { cpuReplicaBudget } from "./replicas.ts";
import { Scheduler } from "./scheduler.ts";
import type { EngineLoader } from "./types.ts";

/** Starts engines through the registry; GPU profiles on a simulated GPU run their CPU path. */
export function registryLoader(registry: Registry): EngineLoader {
  return {
    async load(engineId, profile, { device, replicas }) {
      const host = await registry.startEngine(engineId, profile, device, replicas);
      return {
        listVoices: () => host.listVoices(),
        synthesize: (request, signal) => host.synthesize(request, signal),
        synthesizeMore: (request, more, signal) => host.synthesizeMore(request, more, signal),
        unload: () => host.unload(),
        health: () => host.health(),
        terminate: () => host.shutdown(),
        onExit: (listener) => void host.once("exit", listener),
        onDegraded: (listener) => void host.on("degraded", listener),
        onMemory: (listener) => {
          host.on("memory", listener);
          if (host.lastMemory) listener(host.lastMemory); // reported during load, before this listener
        },
      };
    },
  };
}

export function registryScheduler(config: Config, registry: Registry, log: Logger): Scheduler {
  const s = config.scheduler;
  const scheduler = new Scheduler({
    config: s,
    catalog: registry,
    loader: registryLoader(registry),
    probe: s.devices.gpus === "off" ? noGpuProbe : new NvidiaSmiProbe(s.devices.nvidiaSmi),
    clock: systemClock,
    log,
    cpuReplicas: cpuReplicaBudget(config.engines.cpuReplicas),
  });
  // A plugin removed or replaced: its idle instances unload now, not at some later event.
  registry.on("change", () => scheduler.changed());
  return scheduler;
}
