/** The `chorus finetune` usage text, apart from the commands so that `chorus help` loads none of them. */
import { TORCH_FLAG } from "../python/torch-choice.ts";

export const RUN_USAGE = `  finetune run                train --dataset DIR --base-model DIR --out DIR [--plan FILE | --os/--attention/--effective-batch/--max-clip-seconds]
        [--epochs N] [--gpu auto|INDEX|NAME] [--server auto|URL|off] [--json]    or: finetune run --resume JOB [--epochs N]
  finetune probe              two real steps at the plan's settings on the longest clips: --dataset DIR --base-model DIR [--plan FILE] [--json]
  finetune setup              the trainer's Python environment (torch with CUDA, coqui-tts) [${TORCH_FLAG}] [--python PATH] [--dry-run]`;

export const FINETUNE_USAGE = `  finetune check DIR          check a fine-tuning dataset [--language L] [--model-dir DIR] [--json] [--plot FILE.svg|.png]
        [--max-clip-seconds S]
  finetune prepare INPUT...   cut long recordings into a dataset --out DIR [--language L] [--speaker NAME] [--eval-percent 15]
        [--min-seconds S] [--max-seconds S] [--whisper-model NAME] [--python PATH] [--json]
  finetune estimate           predicted VRAM peak --batch B --accum A --max-clip-seconds S [--max-text-tokens T]
        [--precision fp32|fp16|bf16] [--attention eager|sdpa] [--optimizer adamw|sgd|...] [--fused] [--json]
  finetune plan               settings that fit a card --dataset DIR [--gpu auto|INDEX|NAME] [--gpu-total-mb N]
        [--gpu-used-mb M] [--os linux|windows] [--attention auto|eager|sdpa] [--effective-batch 4]
        [--max-clip-seconds S] [--model-dir DIR] [--json]
${RUN_USAGE}`;
