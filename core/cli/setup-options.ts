/**
 * What `chorus plugin setup` and `chorus finetune setup` pass to the environment planner: the
 * command line's --python/--torch/--force over the config's python section.
 */
import { resolvePath } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { envsRoot, type SetupOptions, type TorchChoice } from "../python/index.ts";

export interface SetupFlags {
  python?: string;
  /** Already checked to be cpu, cuda or auto. */
  torch?: string;
  force?: boolean;
}

export function setupOptions(config: Config, flags: SetupFlags): SetupOptions {
  return {
    root: envsRoot(config, resolvePath),
    python: flags.python ?? config.python.executable,
    torch: flags.torch as TorchChoice | undefined,
    installer: config.python.installer,
    torchIndexUrl: config.python.torchIndexUrl,
    force: flags.force,
  };
}
