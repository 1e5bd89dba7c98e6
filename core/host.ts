/**
 * Wires the host's services in a tsyringe child container: config, logger, the registry's
 * parts (plugin catalogue, engine launcher, default-engine selection) and the facade over
 * them, scheduler, pipeline. Used by the server, the CLI and the tests alike.
 */
import { instanceCachingFactory, container as rootContainer, type DependencyContainer } from "./di.ts";
import type { Logger } from "pino";
import type { Config } from "./config/schema.ts";
import { createLogger } from "./logging.ts";
import { PluginCatalogue } from "./registry/catalogue.ts";
import { EngineLauncher } from "./registry/launcher.ts";
import { engineSelection, Registry } from "./registry/registry.ts";
import type { EngineSelection } from "./registry/selection.ts";
import { registryScheduler } from "./scheduler/production.ts";
import type { Scheduler } from "./scheduler/scheduler.ts";
import { SpeechPipeline } from "./synth/pipeline.ts";
import { TOKENS } from "./tokens.ts";

export interface Host {
  container: DependencyContainer;
  config: Config;
  log: Logger;
  registry: Registry;
  scheduler: Scheduler;
  pipeline: SpeechPipeline;
  close(): Promise<void>;
}

export function createHost(config: Config, options: { log?: Logger } = {}): Host {
  const container = rootContainer.createChildContainer();
  const log = options.log ?? createLogger(config.log);
  container.register(TOKENS.Config, { useValue: config });
  container.register(TOKENS.Logger, { useValue: log });
  // Explicit factories (no decorator metadata): each service is built once per container.
  const config$ = (c: DependencyContainer) => c.resolve<Config>(TOKENS.Config);
  const log$ = (c: DependencyContainer) => c.resolve<Logger>(TOKENS.Logger);
  const catalogue$ = (c: DependencyContainer) => c.resolve<PluginCatalogue>(TOKENS.Catalogue);
  container.register(TOKENS.Catalogue, { useFactory: instanceCachingFactory((c) => new PluginCatalogue(config$(c), log$(c))) });
  container.register(TOKENS.Launcher, { useFactory: instanceCachingFactory((c) => new EngineLauncher(config$(c), catalogue$(c), log$(c))) });
  container.register(TOKENS.Selection, { useFactory: instanceCachingFactory((c) => engineSelection(config$(c), catalogue$(c))) });
  container.register(TOKENS.Registry, {
    useFactory: instanceCachingFactory(
      (c) => new Registry(catalogue$(c), c.resolve<EngineLauncher>(TOKENS.Launcher), c.resolve<EngineSelection>(TOKENS.Selection)),
    ),
  });
  container.register(TOKENS.Scheduler, {
    useFactory: instanceCachingFactory((c) => registryScheduler(config$(c), c.resolve<Registry>(TOKENS.Registry), log$(c))),
  });
  container.register(TOKENS.Pipeline, {
    useFactory: instanceCachingFactory(
      (c) => new SpeechPipeline(config$(c), c.resolve<EngineSelection>(TOKENS.Selection), c.resolve<Scheduler>(TOKENS.Scheduler), log$(c)),
    ),
  });
  const registry = container.resolve<Registry>(TOKENS.Registry);
  registry.scan();
  const scheduler = container.resolve<Scheduler>(TOKENS.Scheduler);
  const pipeline = container.resolve<SpeechPipeline>(TOKENS.Pipeline);
  return {
    container,
    config,
    log,
    registry,
    scheduler,
    pipeline,
    close: async () => {
      await scheduler.close();
      container.clearInstances();
    },
  };
}
