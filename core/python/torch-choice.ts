/**
 * The torch builds `--torch` chooses from (`chorus plugin setup`, `chorus finetune setup`):
 * the one list their checks, usage lines and messages are made from. No imports, so that the
 * usage text can name them without loading the planner.
 */
export const TORCH_CHOICES = ["cpu", "cuda", "auto"] as const;

export type TorchChoice = (typeof TORCH_CHOICES)[number];

/** `--torch cpu|cuda|auto`, as usage lines write it. */
export const TORCH_FLAG = `--torch ${TORCH_CHOICES.join("|")}`;

/** Whether a command line's --torch value is one of the choices. */
export function isTorchChoice(value: string): value is TorchChoice {
  return (TORCH_CHOICES as readonly string[]).includes(value);
}
