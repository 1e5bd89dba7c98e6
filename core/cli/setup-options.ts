/**
 * What `chorus plugin setup` and `chorus finetune setup` pass to the environment planner: the
 * command line's --python/--torch/--force over the config's python section.
 */
import { resolvePath } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { envsRoot, isTorchChoice, TORCH_CHOICES, type SetupOptions, type TorchChoice } from "../python/index.ts";

export interface SetupFlags {
  python?: string;
  /** Checked by torchFlag. */
  torch?: TorchChoice;
  force?: boolean;
}

/**
 * The command line's --torch, checked against TORCH_CHOICES before any work; a bad value is
 * refused with `usageError` (each command's own, so that its usage line is the one printed).
 */
export function torchFlag(value: string | undefined, usageError: (message: string) => Error): TorchChoice | undefined {
  if (value === undefined || isTorchChoice(value)) return value;
  throw usageError(`--torch must be ${TORCH_CHOICES.slice(0, -1).join(", ")} or ${TORCH_CHOICES.at(-1)} (got '${value}')`);
}

export function setupOptions(config: Config, flags: SetupFlags): SetupOptions {
  return {
    root: envsRoot(config, resolvePath),
    python: flags.python ?? config.python.executable,
    torch: flags.torch,
    installer: config.python.installer,
    torchIndexUrl: config.python.torchIndexUrl,
    force: flags.force,
  };
}
